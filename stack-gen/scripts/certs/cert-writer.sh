#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# Certificate writer (Amazon Linux 2023). Makes the stack's private CA and the certificates of
# the application servers (beanstalk) and CouchDB (couch), stores keys and certificates SSE-KMS
# under CA/ in the stack bucket, tells CloudFormation, and shuts down (the instance terminates).
# A replacement writer finds CA/certs/ca.crt and leaves the CA alone: CouchDB's clients and the
# application servers keep the certificates they have. A failed read of it is a failure, not
# "no CA". The application servers' key is stored twice: CA/keys/ (with the CA's) and CA/web/,
# the one place under CA/ besides CA/certs/ the web tier may read.
# CloudFormation fills in the quoted values below; the rest of the script uses plain $name.
set -Eeuo pipefail
bucket='${S3Bucket}'
key='${KeyArn}'
region='${AWS::Region}'
stack='${AWS::StackName}'
zone='${Zone}'

cfn_signal=/opt/aws/bin/cfn-signal
signal() {
  if [ -x "$cfn_signal" ]; then
    "$cfn_signal" --exit-code "$1" --stack "$stack" --resource CertWriterInstance --region "$region" || true
  else
    echo "cert-writer: cannot signal CloudFormation ($1): cfn-signal is not installed" >&2
  fi
}
finish() {
  signal "$1"
  shutdown -h now
  exit "$1"
}
# Every failure tells CloudFormation at once (once: a failed $(...) fails its caller too).
trap '[ "$BASH_SUBSHELL" -eq 0 ] && finish 1' ERR

# Amazon Linux 2023 images may come without cfn-signal.
[ -x "$cfn_signal" ] || dnf install -y aws-cfn-bootstrap
export AWS_DEFAULT_REGION="$region"

ca_cert=CA/certs/ca.crt
# The application servers' own key, apart from CA/keys/ (which they may not read).
web_key=CA/web/beanstalk.key
# exists KEY: 0 if the object is there, 1 if it is not; anything else ends the script (failed).
exists() {
  local err
  if err=$(aws s3api head-object --bucket "$bucket" --key "$1" 2>&1 > /dev/null); then
    return 0
  elif echo "$err" | grep -qE '\((404|NoSuchKey)\)'; then
    return 1
  fi
  echo "cert-writer: cannot tell whether s3://$bucket/$1 exists: $err" >&2
  finish 1
}
if exists "$ca_cert"; then
  echo "cert-writer: s3://$bucket/$ca_cert exists: keeping the stack's CA and certificates"
  # A stack made before the web tier's key had its own place: copy it there once.
  if ! exists "$web_key"; then
    aws s3 cp "s3://$bucket/CA/keys/beanstalk.key" "s3://$bucket/$web_key" \
      --sse aws:kms --sse-kms-key-id "$key" --region "$region" --only-show-errors
    echo "cert-writer: copied the application servers' key to s3://$bucket/$web_key"
  fi
  finish 0
fi

umask 077
work=$(mktemp -d)
cd "$work"
openssl req -x509 -newkey rsa:4096 -sha256 -days 3650 -nodes \
  -subj "/CN=OpenEMR $stack private CA" -keyout ca.key -out ca.crt
# The names clients use: the application servers behind the load balancer, CouchDB by its
# zone name (and each node's, in dual-AZ stacks).
printf 'subjectAltName=DNS:beanstalk.%s\n' "$zone" > beanstalk.ext
printf 'subjectAltName=DNS:couchdb.%s,DNS:couchdb-az1.%s,DNS:couchdb-az2.%s\n' "$zone" "$zone" "$zone" > couch.ext
for name in beanstalk couch; do
  cn=beanstalk.$zone
  [ "$name" = couch ] && cn=couchdb.$zone
  {
    echo 'basicConstraints=critical,CA:FALSE'
    echo 'keyUsage=critical,digitalSignature,keyEncipherment'
    echo 'extendedKeyUsage=serverAuth'
  } >> "$name.ext"
  openssl req -newkey rsa:2048 -sha256 -nodes -subj "/CN=$cn" \
    -keyout "$name.key" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile "$name.ext" -out "$name.crt"
done
# ca.crt last: its presence means the whole set is there.
for file in keys/ca.key keys/beanstalk.key keys/couch.key web/beanstalk.key certs/beanstalk.crt certs/couch.crt certs/ca.crt; do
  aws s3 cp "$(basename "$file")" "s3://$bucket/CA/$file" \
    --sse aws:kms --sse-kms-key-id "$key" --region "$region" --only-show-errors
done
cd /
rm -rf "$work"
finish 0
