#!/bin/bash
# OpenEMR's site on this application server, before Elastic Beanstalk starts the container.
# The platform runs it as root in the bundle's directory, as a prebuild hook of every
# application deployment and (the same file under confighooks/) of every configuration
# deployment, with the environment's properties and secrets as variables. Idempotent: a second
# run changes nothing. One instance at a time (a lock on EFS).
#
#  1. EFS over TLS at /mnt/efs: OpenEMR's sites/ (stack_contract::site), which the container
#     binds. A site the original generator's bundle left at the root (EFS was sites/default
#     there) moves under default/.
#  2. A configured site is required where the stack restores one (recovery, drill): without it
#     the image would serve its setup wizard. A first install refuses a database password the
#     image's installer would split.
#  3. The site's database host and port follow this stack's: a restored site names the host of
#     the stack it was backed up from, and the image never rewrites them.
#  4. Certificates: the application servers' HTTPS pair from the stack bucket, the region's RDS
#     CA bundle, the Amazon root CAs (ElastiCache's); an existing site's copies refreshed.
#  5. A swarm leader that died mid-install no longer holds the others back.
# Passwords are read from the environment and never printed.
set -euo pipefail
umask 022

sites=/mnt/efs
state=/var/lib/openemr
fail() { echo "openemr-site: $*" >&2; exit 1; }
say() { echo "openemr-site: $*"; }

for name in OPENEMR_EFS_ID OPENEMR_BUCKET OPENEMR_REGION OPENEMR_RDS_CA_URL MYSQL_HOST MYSQL_PORT; do
  [ -n "${!name:-}" ] || fail "$name is not set: the stack sets it (change the stack, not the environment)"
done
[[ $MYSQL_HOST =~ ^[A-Za-z0-9.-]+$ ]] || fail "MYSQL_HOST '$MYSQL_HOST' is not a host name"
[[ $MYSQL_PORT =~ ^[0-9]+$ ]] || fail "MYSQL_PORT '$MYSQL_PORT' is not a port"

# 1. EFS (its mount targets may still be coming up on a new stack).
if ! mountpoint -q "$sites"; then
  command -v mount.efs >/dev/null || dnf install -y -q amazon-efs-utils
  mkdir -p "$sites"
  for attempt in $(seq 30); do
    mount -t efs -o tls "$OPENEMR_EFS_ID:/" "$sites" && break
    [ "$attempt" -lt 30 ] || fail "cannot mount EFS $OPENEMR_EFS_ID at $sites over TLS"
    sleep 10
  done
fi
exec 9>"$sites/.openemr-site.lock"
flock 9

if [ ! -e "$sites/default" ] && { [ -e "$sites/sqlconf.php" ] || [ -d "$sites/default.moving" ]; }; then
  mkdir -p "$sites/default.moving"
  find "$sites" -mindepth 1 -maxdepth 1 ! -name default.moving ! -name .openemr-site.lock \
    -exec mv -t "$sites/default.moving" {} +
  mv "$sites/default.moving" "$sites/default"
  say "moved the original generator's site (EFS root) to sites/default"
fi

# 2.
conf="$sites/default/sqlconf.php"
configured() { [ -f "$conf" ] && grep -Eq "^\\\$config[[:space:]]*=[[:space:]]*1;" "$conf"; }
if ! configured; then
  if [ "${OPENEMR_SITE_REQUIRED:-false}" = true ]; then
    fail "EFS has no configured site (sites/default/sqlconf.php with \$config = 1): this stack restores one, and OpenEMR must not start its setup instead. Check the restore (the NFS backup agent's /var/log/openemr-restore.log, RecoveryS3Bucket) and redeploy"
  fi
  for name in MYSQL_ROOT_PASS OE_PASS; do
    [ -n "${!name:-}" ] || fail "$name is not set: the first install needs it (an environment secret the stack sets)"
  done
  [[ $MYSQL_ROOT_PASS =~ ^[A-Za-z0-9]+$ ]] ||
    fail "the database password (RDSPassword) has characters other than letters and digits, which OpenEMR's installer cannot take: update the stack with an RDSPassword of letters and digits (RDS changes it in place), then this deployment runs again"
fi

# 3.
if [ -f "$conf" ]; then
  new=$(mktemp "$conf.XXXXXX")
  sed -E -e "s/^(\\\$host[[:space:]]*=[[:space:]]*)'[^']*';/\\1'$MYSQL_HOST';/" \
    -e "s/^(\\\$port[[:space:]]*=[[:space:]]*)'[^']*';/\\1'$MYSQL_PORT';/" "$conf" >"$new"
  if cmp -s "$new" "$conf"; then
    rm -f "$new"
  else
    chmod --reference="$conf" "$new"
    chown --reference="$conf" "$new"
    mv -f "$new" "$conf"
    say "sites/default/sqlconf.php now names the database at $MYSQL_HOST:$MYSQL_PORT"
  fi
fi

# 4.
install -d -m 755 "$state/tls" "$state/ca"
put() { # put SOURCE TARGET MODE: replaces TARGET only when its content differs
  if ! cmp -s "$1" "$2"; then install -m "$3" "$1" "$2"; fi
}
fetch() { # fetch KEY TARGET MODE from the stack bucket
  local tmp
  tmp=$(mktemp)
  aws s3 cp --only-show-errors --region "$OPENEMR_REGION" "s3://$OPENEMR_BUCKET/$1" "$tmp" ||
    fail "cannot read s3://$OPENEMR_BUCKET/$1 (the certificate writer stores it; the instance role reads it)"
  put "$tmp" "$2" "$3"
  rm -f "$tmp"
}
fetch CA/certs/beanstalk.crt "$state/tls/webserver.cert.pem" 644
fetch CA/web/beanstalk.key "$state/tls/webserver.key.pem" 600
: >>"$state/tls/docker-selfsigned-configured"
rds_ca=$(mktemp)
curl --fail --silent --show-error --retry 5 --max-time 60 -o "$rds_ca" "$OPENEMR_RDS_CA_URL" ||
  fail "cannot download the RDS CA bundle from $OPENEMR_RDS_CA_URL"
grep -q 'BEGIN CERTIFICATE' "$rds_ca" || fail "$OPENEMR_RDS_CA_URL is not a PEM bundle"
put "$rds_ca" "$state/ca/mysql-ca" 644
rm -f "$rds_ca"
put "$(dirname "$0")/../../../amazon-root-cas.pem" "$state/ca/redis-ca" 644
certificates="$sites/default/documents/certificates"
if [ -d "$certificates" ]; then
  put "$state/ca/mysql-ca" "$certificates/mysql-ca" 644
  put "$state/ca/redis-ca" "$certificates/redis-ca" 644
fi

# 5. The image's followers wait for docker-completed with no time limit.
if [ -e "$sites/docker-leader" ] && [ -n "$(find "$sites/docker-leader" -mmin +60)" ]; then
  rm -f "$sites/docker-leader"
  say "removed a swarm leader's claim older than an hour (its container died mid-install)"
fi
say "site ready for the container"
