//! Not written yet: see the issue that builds `document-snapshotter`.
