//! Not written yet: see the issue that builds `recovery-params`.
