#!/bin/bash
# Included by Fn::Sub (the whole-line CloudWatchAgent placeholder) into the Ubuntu instances'
# scripts: the CloudWatch agent, publishing the disk use the stack's alarms read. Ubuntu has no
# package of it, so it is AWS's .deb from AWS's regional bucket, over HTTPS (the origin is
# authenticated by TLS). Safe to run again: installed once per instance, the configuration
# rewritten (the same bytes for the same stack) and the agent restarted on it.

# cloudwatch_agent <package URL> <configuration JSON>
cloudwatch_agent() {
  local package=$1 config=$2
  local home=/opt/aws/amazon-cloudwatch-agent
  local ctl=$home/bin/amazon-cloudwatch-agent-ctl
  if [ ! -x "$ctl" ]; then
    local deb
    deb=$(mktemp --suffix=.deb)
    curl -fsSL --retry 5 --retry-connrefused -o "$deb" "$package"
    dpkg -i -E "$deb"
    rm -f "$deb"
  fi
  [ -x "$ctl" ] || {
    echo "cloudwatch-agent: $ctl is not installed" >&2
    return 1
  }
  mkdir -p "$home/etc"
  printf '%s\n' "$config" > "$home/etc/openemr.json"
  "$ctl" -a fetch-config -m ec2 -s -c "file:$home/etc/openemr.json"
}
