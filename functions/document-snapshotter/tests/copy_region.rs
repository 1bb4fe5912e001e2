//! The copy region's client, as Lambda builds it (no endpoint override): its requests go to
//! the copy region's EC2 endpoint, signed for that region, while the stack's client keeps the
//! stack's. The emulator answers every region on one URL, so only the request itself shows
//! it, read just before it is sent and stopped there (`test_harness::wire`, no network).

use aws_credential_types::Credentials;
use document_snapshotter::Clients;
use test_harness::wire::{Sent, Wire};

/// The first request `client` makes.
async fn first_request(client: &aws_sdk_ec2::Client) -> Sent {
    let wire = Wire::stopping();
    let client = aws_sdk_ec2::Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(wire.clone())
            .build(),
    );
    let answer = client.describe_snapshots().send().await;
    assert!(answer.is_err(), "the wire stops every request");
    wire.sent().first().cloned().expect("a request was built")
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

    for (client, region) in [
        (clients.ec2_in("eu-west-1"), "eu-west-1"),
        (clients.ec2.clone(), "us-east-1"),
    ] {
        let sent = first_request(&client).await;
        assert!(
            sent.uri
                .starts_with(&format!("https://ec2.{region}.amazonaws.com")),
            "{sent:?}"
        );
        let authorization = sent.authorization.unwrap_or_default();
        assert!(
            authorization.contains(&format!("/{region}/ec2/aws4_request")),
            "{authorization}"
        );
    }
}
