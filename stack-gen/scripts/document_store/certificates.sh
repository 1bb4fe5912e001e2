#!/bin/bash
# CouchDB's TLS files (/srv/couchdb/certs) kept those the certificate writer stores under CA/ in
# the stack bucket: run by the node's set-up before CouchDB first starts, and hourly by cron
# with --restart (the writer reissues a certificate whose names CouchDB's clients refuse, on
# the stack update that brings the fix). A changed set is swapped in only when its key belongs
# to its certificate (the writer stores the key first, then the certificate), and CouchDB,
# which reads them when it starts, is restarted.
# (Included into the node's user data by Fn::Sub: no dollar-brace expansions here.)
set -euo pipefail
# cron runs its jobs with PATH=/usr/bin:/bin, and the AWS CLI is a snap (/snap/bin).
export PATH=/snap/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
aws=/snap/bin/aws
# Written by the node's set-up (user-data.sh).
bucket=$(sed -n 's/^bucket=//p' /etc/openemr-couchdb.env)
region=$(sed -n 's/^region=//p' /etc/openemr-couchdb.env)
[ -n "$bucket" ] && [ -n "$region" ] || {
  echo "couchdb-certificates: /etc/openemr-couchdb.env names no bucket or region" >&2
  exit 1
}
export AWS_DEFAULT_REGION="$region"
installed=/srv/couchdb/certs
files='couch.crt couch.key ca.crt'

umask 077
fetched=$(mktemp -d)
trap 'rm -rf "$fetched"' EXIT
for object in certs/couch.crt keys/couch.key certs/ca.crt; do
  "$aws" s3 cp "s3://$bucket/CA/$object" "$fetched/" --only-show-errors
done
changed=no
for file in $files; do
  cmp -s "$fetched/$file" "$installed/$file" || changed=yes
done
[ "$changed" = yes ] || exit 0
if [ "$(openssl x509 -in "$fetched/couch.crt" -noout -pubkey)" != "$(openssl pkey -in "$fetched/couch.key" -pubout)" ]; then
  echo "couchdb-certificates: CA/keys/couch.key does not belong to CA/certs/couch.crt (being rewritten?): the installed ones stay" >&2
  exit 1
fi
mkdir -p "$installed"
for file in $files; do
  install -m 600 -o 5984 -g 5984 "$fetched/$file" "$installed/$file"
done
echo "couchdb-certificates: installed the stack CA's CouchDB certificate"
if [ $# -gt 0 ] && [ "$1" = --restart ]; then
  docker restart couchdb > /dev/null
  echo "couchdb-certificates: restarted CouchDB with it"
fi
