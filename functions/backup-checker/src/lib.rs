//! Not written yet: see the issue that builds `backup-checker`.
