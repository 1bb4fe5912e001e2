#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# Certificate writer (Amazon Linux 2023). Makes the stack's private CA and the certificates of
# the application servers (beanstalk) and CouchDB (couch), stores keys and certificates SSE-KMS
# under CA/ in the stack bucket, tells CloudFormation, and shuts down (the instance terminates).
# A replacement writer finds CA/certs/ca.crt and leaves the CA alone: CouchDB's clients and the
# application servers keep the certificates they have, unless a certificate lacks the names its
# clients use (then it alone is reissued, under the same CA). A failed read is a failure, not
# "no CA". The application servers' key is stored twice: CA/keys/ (with the CA's) and CA/web/,
# the one place under CA/ besides CA/certs/ the web tier may read.
# CloudFormation fills in the quoted values below; the rest of the script uses plain $name.
set -Eeuo pipefail
bucket='${Bucket}'
key='${KeyArn}'
ca_cert='${CaCertKey}'
# The application servers' own key, apart from CA/keys/ (which they may not read).
web_key='${WebTierKey}'
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
store() {
  aws s3 cp "$1" "s3://$bucket/CA/$2" --sse aws:kms --sse-kms-key-id "$key" --region "$region" --only-show-errors
}

# The names clients use: the application servers behind the load balancer, CouchDB by its
# zone name (and each node's, in dual-AZ stacks).
names_of() {
  case $1 in
    beanstalk) echo "DNS:beanstalk.$zone" ;;
    couch) echo "DNS:couchdb.$zone, DNS:couchdb-az1.$zone, DNS:couchdb-az2.$zone" ;;
  esac
}
# issue NAME: NAME.key and NAME.crt, signed by ca.key / ca.crt in the working directory.
issue() {
  local cn
  cn=$(names_of "$1" | cut -d, -f1 | cut -d: -f2)
  {
    echo "subjectAltName=$(names_of "$1")"
    echo 'basicConstraints=critical,CA:FALSE'
    echo 'keyUsage=critical,digitalSignature,keyEncipherment'
    echo 'extendedKeyUsage=serverAuth'
  } > "$1.ext"
  openssl req -newkey rsa:2048 -sha256 -nodes -subj "/CN=$cn" -keyout "$1.key" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -extfile "$1.ext" -out "$1.crt"
}

umask 077
work=$(mktemp -d)
cd "$work"
if exists "$ca_cert"; then
  echo "cert-writer: s3://$bucket/$ca_cert exists: keeping the stack's CA"
  # A stack made before the web tier's key had its own place: copy it there once.
  if ! exists "$web_key"; then
    aws s3 cp "s3://$bucket/CA/keys/beanstalk.key" "s3://$bucket/$web_key" \
      --sse aws:kms --sse-kms-key-id "$key" --region "$region" --only-show-errors
    echo "cert-writer: copied the application servers' key to s3://$bucket/$web_key"
  fi
  # Certificates written by the original generator or an early version of this one name
  # another zone, or none beside their CN (which TLS clients no longer read): reissue those
  # under the same CA, which every client trusts already. The CA itself is never remade.
  for name in beanstalk couch; do
    aws s3 cp "s3://$bucket/CA/certs/$name.crt" "$name.crt" --only-show-errors
    found=$(openssl x509 -in "$name.crt" -noout -ext subjectAltName | sed -n 2p | sed 's/^ *//')
    [ "$found" = "$(names_of "$name")" ] && continue
    [ -e ca.key ] || for file in keys/ca.key certs/ca.crt; do
      aws s3 cp "s3://$bucket/CA/$file" . --only-show-errors
    done
    issue "$name"
    # The key first: a node that reads between the two finds the old certificate, and the
    # next read both new ones.
    store "$name.key" "keys/$name.key"
    [ "$name" = beanstalk ] && store beanstalk.key web/beanstalk.key
    store "$name.crt" "certs/$name.crt"
    echo "cert-writer: reissued CA/certs/$name.crt for $(names_of "$name")"
  done
else
  openssl req -x509 -newkey rsa:4096 -sha256 -days 3650 -nodes \
    -subj "/CN=OpenEMR $stack private CA" -keyout ca.key -out ca.crt
  issue beanstalk
  issue couch
  # ca.crt last: its presence means the whole set is there.
  for file in keys/ca.key keys/beanstalk.key keys/couch.key web/beanstalk.key certs/beanstalk.crt certs/couch.crt certs/ca.crt; do
    store "$(basename "$file")" "$file"
  done
fi
cd /
rm -rf "$work"
finish 0
