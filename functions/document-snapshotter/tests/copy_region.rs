//! The copy region's client, as Lambda builds it (no endpoint override): its requests go to
//! the copy region's EC2 endpoint, signed for that region, while the stack's client keeps the
//! stack's. The emulator answers every region on one URL, so only the request itself shows
//! it: an interceptor reads it before it is sent and stops it there (no network).

use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use document_snapshotter::Clients;

/// Records (URI, Authorization header) of each request, then stops it.
#[derive(Debug, Clone, Default)]
struct Stop(Arc<Mutex<Vec<(String, String)>>>);

impl Intercept for Stop {
    fn name(&self) -> &'static str {
        "Stop"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let authorization = request.headers().get("authorization").unwrap_or_default();
        self.0
            .lock()
            .unwrap()
            .push((request.uri().to_owned(), authorization.to_owned()));
        Err("stopped before sending".into())
    }
}

/// (URI, Authorization) of the first request `client` makes.
async fn first_request(client: &aws_sdk_ec2::Client) -> (String, String) {
    let stop = Stop::default();
    let client = aws_sdk_ec2::Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(stop.clone())
            .build(),
    );
    let answer = client.describe_snapshots().send().await;
    assert!(answer.is_err(), "the interceptor stops every request");
    let seen = stop.0.lock().unwrap();
    seen.first().cloned().expect("a request was built")
}

#[tokio::test]
async fn the_copy_client_calls_the_copy_regions_endpoint_signed_for_it() {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            )),
        )
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let clients = Clients::new(&sdk);
    assert_eq!(clients.region(), "us-east-1");

    let (uri, authorization) = first_request(&clients.ec2_in("eu-west-1")).await;
    assert!(
        uri.starts_with("https://ec2.eu-west-1.amazonaws.com"),
        "{uri}"
    );
    assert!(
        authorization.contains("/eu-west-1/ec2/aws4_request"),
        "{authorization}"
    );

    let (uri, authorization) = first_request(&clients.ec2).await;
    assert!(
        uri.starts_with("https://ec2.us-east-1.amazonaws.com"),
        "{uri}"
    );
    assert!(
        authorization.contains("/us-east-1/ec2/aws4_request"),
        "{authorization}"
    );
}
