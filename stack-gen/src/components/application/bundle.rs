//! The application bundle: what Elastic Beanstalk deploys on every application server. OpenEMR
//! is the project's official image (a parameter); the bundle is the project's own, generated
//! from `stack-gen/bundle/` and uploaded content-addressed by `stack-ops package`:
//!
//! - `docker-compose.yml`: the image, its variables (from the environment's properties and
//!   secrets, [`CONTAINER_VARIABLES`]), HTTPS on 443, EFS bound as OpenEMR's `sites/`.
//! - `.platform/hooks/prebuild/` and `.platform/confighooks/prebuild/`: the same script,
//!   `openemr-site.sh`, before every application and configuration deployment: EFS, the site's
//!   database host, the certificates ([`HOOK_VARIABLES`]).
//! - `amazon-root-cas.pem`: Amazon Root CA 1-4, which sign ElastiCache's certificates (from
//!   Debian's ca-certificates 20230311+deb12u1, `/usr/share/ca-certificates/mozilla/`).
//!
//! The bytes depend on nothing but these files: the same bundle, the same key.

/// One file of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleFile {
    /// Path inside the bundle.
    pub path: &'static str,
    pub content: &'static [u8],
    /// Hooks must be executable (Elastic Beanstalk skips others).
    pub executable: bool,
}

pub const COMPOSE_FILE: &str = include_str!("../../../bundle/docker-compose.yml");
pub const SITE_HOOK: &str = include_str!("../../../bundle/openemr-site.sh");
const AMAZON_ROOT_CAS: &[u8] = include_bytes!("../../../bundle/amazon-root-cas.pem");

/// Where the hook sits, for application and for configuration deployments.
pub const SITE_HOOK_PATHS: [&str; 2] = [
    ".platform/hooks/prebuild/10-openemr-site.sh",
    ".platform/confighooks/prebuild/10-openemr-site.sh",
];

/// The files, in the order they are zipped.
pub fn files() -> Vec<BundleFile> {
    let mut files = vec![
        BundleFile {
            path: "docker-compose.yml",
            content: COMPOSE_FILE.as_bytes(),
            executable: false,
        },
        BundleFile {
            path: "amazon-root-cas.pem",
            content: AMAZON_ROOT_CAS,
            executable: false,
        },
    ];
    files.extend(SITE_HOOK_PATHS.map(|path| BundleFile {
        path,
        content: SITE_HOOK.as_bytes(),
        executable: true,
    }));
    files
}

/// The image's variables the stack sets (its entrypoint reads each: see
/// `docs/openemr-image-variables.json`), through the environment's properties or secrets.
/// `docker-compose.yml` passes exactly these, plus the constants it sets itself.
pub const CONTAINER_VARIABLES: [&str; 11] = [
    "MYSQL_HOST",
    "MYSQL_PORT",
    "MYSQL_DATABASE",
    "MYSQL_ROOT_USER",
    "MYSQL_ROOT_PASS",
    "MYSQL_USER",
    "MYSQL_PASS",
    "OE_USER",
    "OE_PASS",
    "REDIS_SERVER",
    // Compose's own: the image to run.
    "OPENEMR_IMAGE",
];

/// What the hook reads besides `MYSQL_HOST`, `MYSQL_PORT` and (first install) the passwords.
pub mod hook {
    pub const EFS_ID: &str = "OPENEMR_EFS_ID";
    pub const BUCKET: &str = "OPENEMR_BUCKET";
    pub const REGION: &str = "OPENEMR_REGION";
    /// The region's RDS CA bundle (RDS user guide, "Using SSL/TLS to encrypt a connection").
    pub const RDS_CA_URL: &str = "OPENEMR_RDS_CA_URL";
    /// `true` where the stack restores a site (recovery, drill): none found is a failure.
    pub const SITE_REQUIRED: &str = "OPENEMR_SITE_REQUIRED";
}

/// The variables the hook needs set (it fails naming the first one missing).
pub const HOOK_VARIABLES: [&str; 5] = [
    hook::EFS_ID,
    hook::BUCKET,
    hook::REGION,
    hook::RDS_CA_URL,
    hook::SITE_REQUIRED,
];

/// The image and tag a new stack runs: OpenEMR's current production release, pinned to its
/// dated tag (openemr-devops `docker/openemr/OVERVIEW.md`; the image's variables as read from
/// that release's entrypoint are in `docs/openemr-image-variables.json`).
pub const DEFAULT_IMAGE: &str = "openemr/openemr:8.0.0.3-2026-03-25";

/// The OpenEMR administrator a first install creates (its password is generated).
pub const ADMIN_USER: &str = "admin";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_is_one_script_at_both_deployment_kinds_and_executable() {
        let hooks: Vec<_> = files().into_iter().filter(|f| f.executable).collect();
        assert_eq!(
            hooks.iter().map(|f| f.path).collect::<Vec<_>>(),
            SITE_HOOK_PATHS
        );
        assert!(hooks.iter().all(|f| f.content == SITE_HOOK.as_bytes()));
        assert!(SITE_HOOK.starts_with("#!/bin/bash\n"));
    }

    #[test]
    fn the_hook_reads_every_hook_variable_and_the_compose_file_every_container_one() {
        for name in HOOK_VARIABLES {
            assert!(SITE_HOOK.contains(name), "the hook does not read {name}");
        }
        for name in CONTAINER_VARIABLES {
            assert!(
                COMPOSE_FILE.contains(&format!("${{{name}:")),
                "docker-compose.yml does not read {name}"
            );
        }
    }

    #[test]
    fn the_hook_binds_the_site_where_the_contract_says() {
        use stack_contract::site;
        assert!(SITE_HOOK.contains(&format!("sites={}\n", site::EFS_MOUNT)));
        assert!(COMPOSE_FILE.contains(&format!("source: {}\n", site::EFS_MOUNT)));
        assert!(COMPOSE_FILE.contains(&format!("target: {}\n", site::APPLICATION_SITES_DIR)));
        assert!(SITE_HOOK.contains(&format!("conf=\"$sites/{}\"\n", site::SQLCONF)));
        for ca in [site::MYSQL_CA, site::REDIS_CA] {
            let (dir, file) = ca.rsplit_once('/').unwrap();
            assert!(SITE_HOOK.contains(&format!("certificates=\"$sites/{dir}\"\n")));
            assert!(SITE_HOOK.contains(&format!("\"$certificates/{file}\"")));
        }
    }
}
