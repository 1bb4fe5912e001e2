#!/bin/bash
# Included by Fn::Sub (the whole-line ObjectState placeholder) into the scripts that keep a
# secret in the stack bucket: tells "the object is absent" from "the read failed", so that a
# transient error never makes a script generate a new secret over the stored one.
# shellcheck disable=SC2154  # $aws: the AWS CLI's path, set by the including script

# "present" or "absent" (S3 answered 404); any other answer (403, 5xx, no network) fails.
object_state() {
  local err
  if err=$("$aws" s3api head-object --bucket "$1" --key "$2" 2>&1 > /dev/null); then
    echo present
  elif echo "$err" | grep -qE '\((404|NoSuchKey)\)'; then
    echo absent
  else
    echo "cannot tell whether s3://$1/$2 exists: $err" >&2
    return 1
  fi
}
