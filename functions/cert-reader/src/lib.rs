//! Not written yet: see the issue that builds `cert-reader`.
