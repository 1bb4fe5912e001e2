#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# NFS backup agent (Ubuntu 24.04): mounts EFS, keeps the duplicity passphrase at
# Backup/passphrase.txt (SSE-KMS), installs /root/backup.sh and its nightly cron job. In a
# recovery stack it first restores EFS from the original bucket's Backup/. Signals
# CloudFormation when EFS is ready, so the application starts on restored data.
#
# Safe to run again (a replaced instance boots this on live data): the passphrase is made only
# when S3 answers that there is none (404), never on a failed read; a restore happens only into
# an empty file system, and is marked done on it.
# CloudFormation fills in the quoted values below; the rest of the script uses plain $name.
set -Eeuo pipefail
bucket='${Bucket}'
# Where the duplicity chains and their passphrase are (in this and in the recovery bucket).
backup_prefix='${BackupPrefix}'
passphrase='${PassphraseKey}'
key='${KeyArn}'
region='${AWS::Region}'
# The stack and this instance's logical ID, which its signal names (signal(), below).
# shellcheck disable=SC2034
stack='${AWS::StackName}'
# shellcheck disable=SC2034
signal_resource='${SignalResource}'
efs='${ElasticFileSystem}'
cron_hour='${CronHour}'
recovery_bucket='${RecoveryBucket}'
# The CloudWatch agent's package and configuration (disk use of /: duplicity's cache and
# temporary files; EFS itself reports 8 EiB and cannot fill).
agent_package='${AgentPackage}'
agent_config='${AgentConfig}'

# shellcheck disable=SC2154  # signal(), install_cfn_signal(), from stack-gen/scripts/lib/cfn-signal.sh
${CfnSignal}
fail() {
  echo "nfs-backup: $*" >&2
  signal 1
  exit 1
}
# From here on every failure tells CloudFormation at once (no wait for the signal timeout),
# once: a failure inside $(...) fails its caller in the main shell too.
trap '[ "$BASH_SUBSHELL" -eq 0 ] && signal 1' ERR

export DEBIAN_FRONTEND=noninteractive AWS_DEFAULT_REGION="$region"
apt-get update -q
apt-get install -y -q nfs-common duplicity python3-boto3 python3-venv
install_cfn_signal
[ -x /snap/bin/aws ] || snap install aws-cli --classic
aws=/snap/bin/aws

# shellcheck disable=SC2154  # object_state(), from stack-gen/scripts/lib/object-state.sh
${ObjectState}
# shellcheck disable=SC2154  # cloudwatch_agent(), from stack-gen/scripts/lib/cloudwatch-agent.sh
${CloudWatchAgent}
cloudwatch_agent "$agent_package" "$agent_config"

mkdir -p /mnt/efs
grep -qs ' /mnt/efs ' /etc/fstab ||
  echo "$efs.efs.$region.amazonaws.com:/ /mnt/efs nfs4 nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,_netdev 0 0" >> /etc/fstab
# The mount targets may still be coming up.
for _ in $(seq 60); do mountpoint -q /mnt/efs || mount /mnt/efs && break; sleep 10; done
mountpoint -q /mnt/efs || fail "EFS is not mounted at /mnt/efs"

printf 'bucket=%s\nregion=%s\nprefix=%s\npassphrase=%s\n' "$bucket" "$region" "$backup_prefix" "$passphrase" > /etc/openemr-backup.env
cat > /root/backup.sh <<'SCRIPT'
${BackupScript}
SCRIPT
chmod 700 /root/backup.sh

umask 077
stored=$(object_state "$bucket" "$passphrase")
if [ -n "$recovery_bucket" ]; then
  # The original's backups are encrypted with its passphrase; keep using it.
  marker=/mnt/efs/.openemr-restore-complete
  if [ -e "$marker" ]; then
    echo "nfs-backup: EFS was restored from s3://$recovery_bucket/$backup_prefix before ($(cat "$marker")); not restoring again"
  elif [ -n "$(ls -A /mnt/efs)" ]; then
    fail "EFS already holds files but no completed restore is marked ($marker): not restoring over them"
  else
    "$aws" s3 cp "s3://$recovery_bucket/$passphrase" /root/passphrase --only-show-errors
    PASSPHRASE=$(cat /root/passphrase) /usr/bin/duplicity restore --force "boto3+s3://$recovery_bucket/$(basename "$backup_prefix")" /mnt/efs
    echo "s3://$recovery_bucket/$backup_prefix restored $(date -u +%FT%TZ)" > "$marker"
  fi
  if [ "$stored" = absent ] && [ ! -f /root/passphrase ]; then
    "$aws" s3 cp "s3://$recovery_bucket/$passphrase" /root/passphrase --only-show-errors
  fi
elif [ "$stored" = absent ]; then
  openssl rand -base64 48 > /root/passphrase
fi
if [ "$stored" = absent ]; then
  "$aws" s3 cp /root/passphrase "s3://$bucket/$passphrase" --sse aws:kms --sse-kms-key-id "$key" --only-show-errors
fi
[ -f /root/passphrase ] && shred -u /root/passphrase

# cron's PATH is /usr/bin:/bin; backup.sh names its tools by path and sets its own PATH too.
cat > /etc/cron.d/openemr-backup <<CRON
PATH=/snap/bin:/usr/sbin:/usr/bin:/sbin:/bin
0 $cron_hour * * * root /root/backup.sh 2>&1 | logger -t openemr-backup
CRON
signal 0
