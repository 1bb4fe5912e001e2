//! `platform-resolver`: the custom resource `ApplicationPlatform`. Elastic Beanstalk supersedes
//! a platform version within weeks and then lets only accounts that used it recently create
//! environments on it, so no template can name one for long. This resource names the newest
//! *recommended* version of a branch (`BranchName`) when the stack is created: CloudFormation
//! calls it again only when its properties change, so an update with the same parameters keeps
//! the environment's platform, and managed platform updates patch it within the branch.
//!
//! - Create / Update: gather the branch's recommended versions ([`gather`],
//!   ListPlatformVersions filtered by branch and lifecycle state, every page), pick the newest
//!   ([`newest`], pure), answer its ARN (`PlatformArn`, also the physical id) and version.
//! - Delete: nothing to undo.

use aws_clients::ApiError;
use aws_sdk_elasticbeanstalk::types::PlatformFilter;
use custom_resource::{Request, Success};
use serde::{Deserialize, Serialize};
use stack_contract::platform_resolver::attributes::{PLATFORM_ARN, VERSION};

/// `ResourceProperties` of `ApplicationPlatform` (`ServiceToken` is ignored).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Props {
    /// `stack_contract::platform_resolver::properties::BRANCH`.
    #[serde(rename = "BranchName")]
    pub branch: String,
}

/// One platform version of the branch, as ListPlatformVersions summarises it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub arn: String,
    /// `major.minor.patch`, e.g. "4.7.3".
    pub version: String,
    /// "Ready" once usable (Creating, Failed, Deleting, Deleted otherwise).
    pub status: String,
}

/// Why a request failed; the text becomes the CloudFormation Reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "listing the versions of the Elastic Beanstalk platform branch {branch:?} failed: {error} (the function's role needs elasticbeanstalk:ListPlatformVersions)"
    )]
    List { branch: String, error: ApiError },
    #[error(
        "Elastic Beanstalk has no recommended, ready version of the platform branch {branch:?} in this region: check the branch's name and lifecycle (aws elasticbeanstalk list-platform-branches), or pin a solution stack with the BeanstalkPlatform parameter"
    )]
    NoVersion { branch: String },
    #[error(
        "BranchName must name a platform branch, e.g. \"Docker running on 64bit Amazon Linux 2023\""
    )]
    EmptyBranch,
    #[error("unsupported request type")]
    UnknownRequest,
}

impl Error {
    /// The Lambda `errorType` of this failure (stable; README.md lists them).
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::List { .. } => "PlatformVersionsUnlisted",
            Error::NoVersion { .. } => "NoPlatformVersion",
            Error::EmptyBranch => "InvalidProperties",
            Error::UnknownRequest => "UnsupportedRequestType",
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}

/// The branch's recommended versions (every page).
pub async fn gather(
    eb: &aws_sdk_elasticbeanstalk::Client,
    branch: &str,
) -> Result<Vec<Candidate>, Error> {
    let filter = |kind: &str, value: &str| {
        PlatformFilter::builder()
            .r#type(kind)
            .operator("=")
            .values(value)
            .build()
    };
    let mut candidates = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = eb
            .list_platform_versions()
            .filters(filter("PlatformBranchName", branch))
            .filters(filter("PlatformLifecycleState", "recommended"))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| Error::List {
                branch: branch.to_owned(),
                error: ApiError::from_sdk(&e),
            })?;
        for summary in page.platform_summary_list() {
            if let (Some(arn), Some(version)) = (summary.platform_arn(), summary.platform_version())
            {
                candidates.push(Candidate {
                    arn: arn.to_owned(),
                    version: version.to_owned(),
                    status: summary
                        .platform_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                });
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(candidates),
        }
    }
}

/// The newest ready candidate by version number (4.10.0 is newer than 4.9.9).
pub fn newest<'a>(candidates: &'a [Candidate], branch: &str) -> Result<&'a Candidate, Error> {
    candidates
        .iter()
        .filter(|c| c.status == "Ready")
        .filter_map(|c| version_key(&c.version).map(|key| (key, c)))
        .max_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, c)| c)
        .ok_or_else(|| Error::NoVersion {
            branch: branch.to_owned(),
        })
}

fn version_key(version: &str) -> Option<Vec<u64>> {
    version.split('.').map(|part| part.parse().ok()).collect()
}

pub async fn handle(
    eb: &aws_sdk_elasticbeanstalk::Client,
    request: Request<Props>,
) -> Result<Success, Error> {
    let props = match &request {
        Request::Create(create) => &create.resource_properties,
        Request::Update(update) => &update.resource_properties,
        Request::Delete(_) => return Ok(Success::new()),
        _ => return Err(Error::UnknownRequest),
    };
    let branch = props.branch.trim();
    if branch.is_empty() {
        return Err(Error::EmptyBranch);
    }
    let candidates = gather(eb, branch).await?;
    let chosen = newest(&candidates, branch)?;
    tracing::info!(branch, platform = %chosen.arn, "resolved the platform version");
    Ok(Success::new()
        .with_physical_id(chosen.arn.clone())
        .with_data(PLATFORM_ARN, chosen.arn.clone())
        .with_data(VERSION, chosen.version.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticbeanstalk::operation::list_platform_versions::ListPlatformVersionsOutput;
    use aws_sdk_elasticbeanstalk::types::{PlatformStatus, PlatformSummary};
    use aws_smithy_mocks::{Rule, RuleMode, mock};

    const BRANCH: &str = "Docker running on 64bit Amazon Linux 2023";

    fn arn(version: &str) -> String {
        format!("arn:aws:elasticbeanstalk:eu-west-1::platform/{BRANCH}/{version}")
    }

    fn candidate(version: &str, status: &str) -> Candidate {
        Candidate {
            arn: arn(version),
            version: version.into(),
            status: status.into(),
        }
    }

    fn summary(version: &str) -> PlatformSummary {
        PlatformSummary::builder()
            .platform_arn(arn(version))
            .platform_version(version)
            .platform_status(PlatformStatus::Ready)
            .build()
    }

    /// A client answered by `rules` only (the tests' one mock client).
    fn client(rules: &[&Rule]) -> aws_sdk_elasticbeanstalk::Client {
        test_harness::mock_client!(
            aws_sdk_elasticbeanstalk,
            RuleMode::MatchAny,
            rules.iter().copied(),
            |config| config.region(aws_sdk_elasticbeanstalk::config::Region::new("eu-west-1"))
        )
    }

    #[test]
    fn the_newest_ready_version_wins_by_number_not_by_text() {
        let candidates = [
            candidate("4.9.9", "Ready"),
            candidate("4.10.0", "Ready"),
            candidate("4.11.0", "Creating"),
            candidate("4.2.1", "Ready"),
        ];
        assert_eq!(newest(&candidates, BRANCH).unwrap().version, "4.10.0");
    }

    #[test]
    fn no_ready_version_fails_naming_the_branch_and_the_way_out() {
        let error = newest(&[candidate("4.1.0", "Failed")], BRANCH).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains(BRANCH) && text.contains("BeanstalkPlatform"),
            "{text}"
        );
        assert_eq!(error.error_type(), "NoPlatformVersion");
    }

    #[tokio::test]
    async fn every_page_is_read_with_the_branch_and_recommended_filters() {
        let first = mock!(aws_sdk_elasticbeanstalk::Client::list_platform_versions)
            .match_requests(|r| {
                r.next_token().is_none()
                    && r.filters()
                        .iter()
                        .any(|f| f.r#type() == Some("PlatformBranchName") && f.values() == [BRANCH])
                    && r.filters().iter().any(|f| {
                        f.r#type() == Some("PlatformLifecycleState")
                            && f.values() == ["recommended"]
                    })
            })
            .then_output(|| {
                ListPlatformVersionsOutput::builder()
                    .platform_summary_list(summary("4.7.3"))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_elasticbeanstalk::Client::list_platform_versions)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| {
                ListPlatformVersionsOutput::builder()
                    .platform_summary_list(summary("4.8.0"))
                    .build()
            });
        let eb = client(&[&first, &second]);
        let found = gather(&eb, BRANCH).await.unwrap();
        assert_eq!(
            found.iter().map(|c| c.version.as_str()).collect::<Vec<_>>(),
            ["4.7.3", "4.8.0"]
        );
        assert_eq!(newest(&found, BRANCH).unwrap().arn, arn("4.8.0"));
    }
}
