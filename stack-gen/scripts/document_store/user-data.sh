#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# CouchDB node (Ubuntu 24.04): patient documents on an encrypted EBS volume, served over TLS
# (port 6984) with the stack CA's certificate. The volume is formatted only when it holds no
# file system yet (a recovery volume made from a snapshot keeps its data). In dual-AZ stacks
# the second node replicates both ways with the first.
# CloudFormation fills in the quoted values below; the rest of the script uses plain $name.
set -euo pipefail
bucket='${S3Bucket}'
key='${KeyArn}'
region='${AWS::Region}'
volume='${Volume}'
peer='${Peer}'

export DEBIAN_FRONTEND=noninteractive AWS_DEFAULT_REGION="$region"
apt-get update -q
apt-get install -y -q docker.io curl
snap install aws-cli --classic

# On Nitro instances the volume shows up as an NVMe device named after its id.
device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(echo "$volume" | tr -d -)
for _ in $(seq 60); do [ -e "$device" ] && break; sleep 5; done
blkid "$device" > /dev/null || mkfs.ext4 -L couchdb "$device"
mkdir -p /srv/couchdb
echo "$device /srv/couchdb ext4 defaults,nofail 0 2" >> /etc/fstab
mount /srv/couchdb
mkdir -p /srv/couchdb/data /srv/couchdb/etc /srv/couchdb/certs

umask 077
for file in certs/couch.crt keys/couch.key certs/ca.crt; do
  aws s3 cp "s3://$bucket/CA/$file" /srv/couchdb/certs/ --only-show-errors
done
admin=CouchDB/admin-password.txt
if ! aws s3 cp "s3://$bucket/$admin" /root/couchdb-admin --only-show-errors 2> /dev/null; then
  openssl rand -hex 24 > /root/couchdb-admin
  aws s3 cp /root/couchdb-admin "s3://$bucket/$admin" --sse aws:kms --sse-kms-key-id "$key" --only-show-errors
fi
cat > /srv/couchdb/etc/10-tls.ini <<'INI'
[ssl]
enable = true
port = 6984
cert_file = /opt/couchdb/certs/couch.crt
key_file = /opt/couchdb/certs/couch.key
cacert_file = /opt/couchdb/certs/ca.crt
INI
chown -R 5984:5984 /srv/couchdb

password=$(cat /root/couchdb-admin)
docker run -d --restart always --name couchdb -p 6984:6984 \
  -v /srv/couchdb/data:/opt/couchdb/data -v /srv/couchdb/etc:/opt/couchdb/etc/local.d \
  -v /srv/couchdb/certs:/opt/couchdb/certs \
  -e COUCHDB_USER=admin -e COUCHDB_PASSWORD="$password" couchdb:3

if [ -n "$peer" ]; then
  until curl -skf "https://127.0.0.1:6984/_up" > /dev/null; do sleep 5; done
  here=$(hostname -I | cut -d' ' -f1)
  for direction in "$peer:$here" "$here:$peer"; do
    from=$(echo "$direction" | cut -d: -f1)
    to=$(echo "$direction" | cut -d: -f2)
    curl -sk -u "admin:$password" -X POST "https://127.0.0.1:6984/_replicator" \
      -H 'Content-Type: application/json' \
      -d "{\"source\":\"https://admin:$password@$from:6984/openemr\",\"target\":\"https://admin:$password@$to:6984/openemr\",\"continuous\":true,\"create_target\":true}"
  done
fi
shred -u /root/couchdb-admin
