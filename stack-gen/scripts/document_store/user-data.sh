#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# CouchDB node (Ubuntu 24.04): patient documents on an encrypted EBS volume, served over TLS
# (port 6984) with the stack CA's certificate. The volume is formatted only when it holds no
# file system yet (a recovery volume made from a snapshot keeps its data). In dual-AZ stacks
# the second node replicates both ways with the first.
#
# A replaced node takes its volume over: CloudFormation creates the replacement, and then its
# VolumeAttachment, while the predecessor still holds the volume. So the node waits for its
# volume to be free before it signals (the attachment waits for the signal): it stops the
# predecessor (a clean shutdown closes CouchDB and the file system) and detaches the volume
# from it. The predecessor is then deleted by CloudFormation; its attachment is already gone.
#
# Safe to run again (a replaced instance boots this with the same volume): the admin password
# is made once, by the first node, only when S3 answers that there is none (404); the second
# node waits for it; a recovery stack takes the original's (its restored data has that one).
# CloudFormation fills in the quoted values below; the rest of the script uses plain $name.
set -Eeuo pipefail
bucket='${Bucket}'
key='${KeyArn}'
# The CouchDB admin password's key in the bucket (and in the recovery bucket).
admin='${AdminPasswordKey}'
region='${AWS::Region}'
# The stack and this instance's logical ID, which its signal names (signal(), below).
# shellcheck disable=SC2034
stack='${AWS::StackName}'
# shellcheck disable=SC2034
signal_resource='${SignalResource}'
volume='${Volume}'
peer='${Peer}'
recovery_bucket='${RecoveryBucket}'
# CouchDB's API on this node, as the set-up reaches it (the container's published TLS port).
api='${LocalAPI}'
# The CloudWatch agent's package and configuration (disk use of / and /srv/couchdb).
agent_package='${AgentPackage}'
agent_config='${AgentConfig}'

# shellcheck disable=SC2154  # signal(), install_cfn_signal(), from stack-gen/scripts/lib/cfn-signal.sh
${CfnSignal}
fail() {
  echo "couchdb: $*" >&2
  signal 1
  exit 1
}
# A failure before the signal tells CloudFormation at once (after it, CloudFormation has
# moved on and ignores a second signal).
trap '[ "$BASH_SUBSHELL" -eq 0 ] && echo "couchdb: set-up failed (line $LINENO)" >&2 && signal 1' ERR

export DEBIAN_FRONTEND=noninteractive AWS_DEFAULT_REGION="$region"
apt-get update -q
apt-get install -y -q docker.io curl python3-venv
install_cfn_signal
[ -x /snap/bin/aws ] || snap install aws-cli --classic
aws=/snap/bin/aws

# The volume is free, or held by this node's predecessor: take it over (see the top).
this_node=$(cat /var/lib/cloud/data/instance-id)
holder=$("$aws" ec2 describe-volumes --volume-ids "$volume" --query 'Volumes[0].Attachments[0].InstanceId' --output text)
if [ "$holder" != None ] && [ "$holder" != "$this_node" ]; then
  echo "couchdb: $volume is attached to $holder, this node's predecessor: stopping it"
  "$aws" ec2 stop-instances --instance-ids "$holder" > /dev/null
  "$aws" ec2 wait instance-stopped --instance-ids "$holder"
  "$aws" ec2 detach-volume --volume-id "$volume" --instance-id "$holder" > /dev/null
  "$aws" ec2 wait volume-available --volume-ids "$volume"
  echo "couchdb: $volume detached from $holder"
fi
signal 0

# shellcheck disable=SC2154  # object_state(), from stack-gen/scripts/lib/object-state.sh
${ObjectState}
# shellcheck disable=SC2154  # cloudwatch_agent(), from stack-gen/scripts/lib/cloudwatch-agent.sh
${CloudWatchAgent}
cloudwatch_agent "$agent_package" "$agent_config"

# On Nitro instances the volume shows up as an NVMe device named after its id.
device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(echo "$volume" | tr -d -)
for _ in $(seq 60); do [ -e "$device" ] && break; sleep 5; done
[ -e "$device" ] || fail "volume $volume is not attached ($device)"
if blkid "$device" > /dev/null; then
  echo "couchdb: $device holds a file system: keeping it"
else
  status=$?
  # 2: no file system found. Anything else is an error, not a blank volume.
  [ "$status" -eq 2 ] || fail "blkid $device failed ($status)"
  mkfs.ext4 -L couchdb "$device"
fi
mkdir -p /srv/couchdb
grep -qs ' /srv/couchdb ' /etc/fstab || echo "$device /srv/couchdb ext4 defaults,nofail 0 2" >> /etc/fstab
mountpoint -q /srv/couchdb || mount /srv/couchdb
mkdir -p /srv/couchdb/data /srv/couchdb/etc /srv/couchdb/certs

# The TLS files, now and whenever the certificate writer reissues them (certificates.sh).
printf 'bucket=%s\nregion=%s\n' "$bucket" "$region" > /etc/openemr-couchdb.env
cat > /usr/local/sbin/couchdb-certificates <<'SCRIPT'
${CertificatesScript}
SCRIPT
chmod 700 /usr/local/sbin/couchdb-certificates
/usr/local/sbin/couchdb-certificates
cat > /etc/cron.d/couchdb-certificates <<'CRON'
PATH=/snap/bin:/usr/sbin:/usr/bin:/sbin:/bin
23 * * * * root /usr/local/sbin/couchdb-certificates --restart 2>&1 | logger -t couchdb-certificates
CRON

umask 077
store_admin() {
  "$aws" s3 cp /root/couchdb-admin "s3://$bucket/$admin" --sse aws:kms --sse-kms-key-id "$key" --only-show-errors
}
stored=$(object_state "$bucket" "$admin")
if [ "$stored" = present ]; then
  "$aws" s3 cp "s3://$bucket/$admin" /root/couchdb-admin --only-show-errors
elif [ -n "$recovery_bucket" ]; then
  # The restored volume's CouchDB knows the original stack's admin password.
  "$aws" s3 cp "s3://$recovery_bucket/$admin" /root/couchdb-admin --only-show-errors
  store_admin
elif [ -z "$peer" ]; then
  # The first node makes the password.
  openssl rand -hex 24 > /root/couchdb-admin
  store_admin
else
  # The second node uses the first node's password: wait for it (10 minutes at most).
  for _ in $(seq 120); do
    stored=$(object_state "$bucket" "$admin")
    [ "$stored" = present ] && break
    sleep 5
  done
  [ "$stored" = present ] || fail "the first node stored no admin password at s3://$bucket/$admin"
  "$aws" s3 cp "s3://$bucket/$admin" /root/couchdb-admin --only-show-errors
fi
password=$(cat /root/couchdb-admin)
shred -u /root/couchdb-admin
[ -n "$password" ] || fail "the admin password is empty"

cat > /srv/couchdb/etc/10-tls.ini <<'INI'
[ssl]
enable = true
port = 6984
cert_file = /opt/couchdb/certs/couch.crt
key_file = /opt/couchdb/certs/couch.key
cacert_file = /opt/couchdb/certs/ca.crt
INI
chown -R 5984:5984 /srv/couchdb

docker run -d --restart always --name couchdb -p 6984:6984 \
  -v /srv/couchdb/data:/opt/couchdb/data -v /srv/couchdb/etc:/opt/couchdb/etc/local.d \
  -v /srv/couchdb/certs:/opt/couchdb/certs \
  -e COUCHDB_USER=admin -e COUCHDB_PASSWORD="$password" couchdb:3

# The admin credentials go to curl on its standard input, not on its command line.
couch() {
  local method=$1 path=$2
  shift 2
  printf 'user = "admin:%s"\n' "$password" |
    curl -sS -k -K - -o /dev/null -w '%{http_code}' -X "$method" "$api$path" "$@"
}
for _ in $(seq 60); do curl -skf "$api/_up" > /dev/null && break; sleep 5; done
curl -skfS "$api/_up" > /dev/null || fail "CouchDB did not come up at $api"

# A single CouchDB 3 node does not make its system databases; 412: it exists already.
for db in _users _replicator openemr; do
  code=$(couch PUT "/$db")
  case $code in
    201 | 202 | 412) ;;
    *) fail "creating database $db: HTTP $code" ;;
  esac
done

if [ -n "$peer" ]; then
  here=$(hostname -I | cut -d' ' -f1)
  for direction in "$peer:$here" "$here:$peer"; do
    from=$(echo "$direction" | cut -d: -f1)
    to=$(echo "$direction" | cut -d: -f2)
    body=$(mktemp)
    printf '{"_id":"openemr-%s-to-%s","source":"https://admin:%s@%s:6984/openemr","target":"https://admin:%s@%s:6984/openemr","continuous":true}' \
      "$from" "$to" "$password" "$from" "$password" "$to" > "$body"
    code=$(couch POST /_replicator -H 'Content-Type: application/json' --data-binary "@$body")
    rm -f "$body"
    case $code in
      201 | 202 | 409) ;;
      *) fail "replication $from -> $to: HTTP $code" ;;
    esac
  done
fi
