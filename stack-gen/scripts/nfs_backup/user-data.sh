#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# NFS backup agent (Ubuntu 24.04): mounts EFS, keeps the duplicity passphrase at
# Backup/passphrase.txt (SSE-KMS), installs /root/backup.sh and its nightly cron job. In a
# recovery stack it first restores EFS from the original bucket's Backup/. Signals
# CloudFormation when EFS is ready, so the application starts on restored data.
# CloudFormation fills in the quoted values below; the rest of the script uses plain $name.
set -euo pipefail
bucket='${S3Bucket}'
key='${KeyArn}'
region='${AWS::Region}'
stack='${AWS::StackName}'
efs='${ElasticFileSystem}'
cron_hour='${CronHour}'
recovery_bucket='${RecoveryBucket}'

export DEBIAN_FRONTEND=noninteractive AWS_DEFAULT_REGION="$region"
apt-get update -q
apt-get install -y -q nfs-common duplicity python3-boto3 python3-venv
snap install aws-cli --classic
python3 -m venv /opt/aws-cfn-bootstrap
/opt/aws-cfn-bootstrap/bin/pip install -q https://s3.amazonaws.com/cloudformation-examples/aws-cfn-bootstrap-py3-latest.tar.gz
signal() {
  /opt/aws-cfn-bootstrap/bin/cfn-signal --exit-code "$1" --stack "$stack" --resource NFSBackupInstance --region "$region" || true
}
trap 'signal 1' ERR

mkdir -p /mnt/efs
echo "$efs.efs.$region.amazonaws.com:/ /mnt/efs nfs4 nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,_netdev 0 0" >> /etc/fstab
# The mount targets may still be coming up.
for _ in $(seq 60); do mount /mnt/efs && break; sleep 10; done
mountpoint -q /mnt/efs

printf 'bucket=%s\nregion=%s\n' "$bucket" "$region" > /etc/openemr-backup.env
cat > /root/backup.sh <<'SCRIPT'
${BackupScript}
SCRIPT
chmod 700 /root/backup.sh

umask 077
passphrase=Backup/passphrase.txt
if [ -n "$recovery_bucket" ]; then
  # The original's backups are encrypted with its passphrase; keep using it.
  aws s3 cp "s3://$recovery_bucket/$passphrase" /root/passphrase --only-show-errors
  PASSPHRASE=$(cat /root/passphrase) duplicity restore --force "boto3+s3://$recovery_bucket/Backup" /mnt/efs
elif ! aws s3api head-object --bucket "$bucket" --key "$passphrase" > /dev/null 2>&1; then
  openssl rand -base64 48 > /root/passphrase
fi
if [ -f /root/passphrase ]; then
  aws s3 cp /root/passphrase "s3://$bucket/$passphrase" --sse aws:kms --sse-kms-key-id "$key" --only-show-errors
  shred -u /root/passphrase
fi

echo "0 $cron_hour * * * root /root/backup.sh 2>&1 | logger -t openemr-backup" > /etc/cron.d/openemr-backup
signal 0
