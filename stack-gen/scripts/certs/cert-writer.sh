#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# Certificate writer (Amazon Linux 2023). Makes the stack's private CA and the certificates of
# the application servers (beanstalk) and CouchDB (couch), stores keys and certificates SSE-KMS
# under CA/ in the stack bucket, tells CloudFormation, and shuts down (the instance terminates).
# CloudFormation fills in the quoted values below; the rest of the script uses plain $name.
set -euo pipefail
bucket='${S3Bucket}'
key='${KeyArn}'
region='${AWS::Region}'
stack='${AWS::StackName}'

signal() {
  /opt/aws/bin/cfn-signal --exit-code "$1" --stack "$stack" --resource CertWriterInstance --region "$region" || true
}
trap 'signal 1; shutdown -h now' ERR

umask 077
work=$(mktemp -d)
cd "$work"
openssl req -x509 -newkey rsa:4096 -sha256 -days 3650 -nodes \
  -subj "/CN=OpenEMR $stack private CA" -keyout ca.key -out ca.crt
for name in beanstalk couch; do
  openssl req -newkey rsa:2048 -sha256 -nodes -subj "/CN=$name.openemr.local" \
    -keyout "$name.key" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 3650 -sha256 -out "$name.crt"
done
for name in ca beanstalk couch; do
  for kind in key crt; do
    folder=certs
    [ "$kind" = key ] && folder=keys
    aws s3 cp "$name.$kind" "s3://$bucket/CA/$folder/$name.$kind" \
      --sse aws:kms --sse-kms-key-id "$key" --region "$region" --only-show-errors
  done
done
rm -rf "$work"
signal 0
shutdown -h now
