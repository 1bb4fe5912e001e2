//! Not written yet: see the issue that builds `custom-resource`.
