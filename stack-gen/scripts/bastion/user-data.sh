#!/bin/bash
# shellcheck disable=SC2016  # the single-quoted values below are Fn::Sub placeholders
# Developer bastion (Amazon Linux 2023): only security updates; it exists to forward SSH.
set -euo pipefail
stack='${AWS::StackName}'
dnf upgrade -y --security
echo "OpenEMR $stack developer bastion: not HIPAA-safe, for testing without patient data only." > /etc/motd
