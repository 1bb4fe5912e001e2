#!/bin/bash
# Included by Fn::Sub (the whole-line CfnSignal placeholder) into the Ubuntu instances' scripts
# whose resource has a CreationPolicy: tells CloudFormation how the instance's set-up went.
# shellcheck disable=SC2154  # $stack, $signal_resource, $region: set by the including script

cfn_signal=/opt/aws-cfn-bootstrap/bin/cfn-signal

# signal EXIT_CODE: 0 the set-up is done, anything else it failed (CloudFormation stops waiting
# for the time-out and rolls back). cfn-signal needs no credentials.
signal() {
  if [ -x "$cfn_signal" ]; then
    "$cfn_signal" --exit-code "$1" --stack "$stack" --resource "$signal_resource" --region "$region" || true
  else
    echo "$signal_resource: cannot signal CloudFormation ($1): cfn-signal is not installed yet" >&2
  fi
}

# Ubuntu does not package cfn-signal (aws-cfn-bootstrap): a venv of its own, once. Needs
# python3-venv.
install_cfn_signal() {
  if [ ! -x "$cfn_signal" ]; then
    python3 -m venv /opt/aws-cfn-bootstrap
    /opt/aws-cfn-bootstrap/bin/pip install -q https://s3.amazonaws.com/cloudformation-examples/aws-cfn-bootstrap-py3-latest.tar.gz
  fi
}
