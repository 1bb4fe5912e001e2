#!/bin/bash
# Nightly backup of the EFS file system (OpenEMR's sites/) to s3://<stack bucket>/Backup/ with
# duplicity: a full backup when the last is a month old, incrementals in between, the two
# newest full chains kept. cron runs it in the stack's backup window; run it by hand with
#   sudo /root/backup.sh
# The backup-checker Lambda verifies the result every night.
set -euo pipefail
# cron runs its jobs with PATH=/usr/bin:/bin, and the AWS CLI is a snap (/snap/bin): name
# every tool by its path, and give duplicity's own helpers (gpg) the usual PATH.
export PATH=/snap/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
aws=/snap/bin/aws
duplicity=/usr/bin/duplicity
# Written by the instance's set-up (user-data.sh): the bucket, its region, the chains' prefix
# (Backup/) and the passphrase's key in it.
setting() { sed -n "s/^$1=//p" /etc/openemr-backup.env; }
bucket=$(setting bucket)
region=$(setting region)
prefix=$(setting prefix)
passphrase=$(setting passphrase)
[ -n "$bucket" ] && [ -n "$region" ] && [ -n "$prefix" ] && [ -n "$passphrase" ] ||
  { echo "backup: /etc/openemr-backup.env lacks the bucket, region, prefix or passphrase" >&2; exit 1; }

export AWS_DEFAULT_REGION="$region"
target="boto3+s3://$bucket/$(basename "$prefix")"
PASSPHRASE=$("$aws" s3 cp "s3://$bucket/$passphrase" - --only-show-errors)
[ -n "$PASSPHRASE" ] || { echo "backup: the passphrase object is empty" >&2; exit 1; }
export PASSPHRASE

"$duplicity" backup --full-if-older-than 1M /mnt/efs "$target"
"$duplicity" remove-all-but-n-full 2 --force "$target"
unset PASSPHRASE
