"""moto's server with IAM enforced for the Rust SDK (used by test_harness::Moto::start_with_iam).

moto verifies SigV4 by re-encoding the form body it has already parsed; for an EC2 request
whose values hold a space the Rust SDK's valid signature then never matches (AuthFailure).
Signature checking is not what these tests are about: the access key still has to belong to
an emulator IAM user (unknown keys are refused), and that user's policies are enforced.
"""
import sys

from moto.iam import access_control
from moto.server import main

access_control.IAMRequestBase.check_signature = lambda self: None

if __name__ == "__main__":
    sys.exit(main())
