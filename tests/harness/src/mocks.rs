//! SDK clients answered by `aws-smithy-mocks` rules, for the states the emulator cannot
//! produce (pending snapshots, pages, throttling). One way to build them: [`mock_client!`].

pub use aws_smithy_mocks;

/// An SDK client of crate `$sdk` answered only by `$rules` (`&[&Rule]`) in `$mode`, in
/// us-east-1 with fixed credentials and the latest behaviour version; `$configure` adjusts the
/// config builder (no retries, another region). It is aws-smithy-mocks' own `mock_client!`
/// without its `with_test_defaults_v2()`, which needs every SDK crate's `test-util` feature,
/// and so a second build of the SDK for the tests.
#[macro_export]
macro_rules! mock_client {
    ($sdk:ident, $mode:expr, $rules:expr) => {
        $crate::mock_client!($sdk, $mode, $rules, |config| config)
    };
    ($sdk:ident, $mode:expr, $rules:expr, $configure:expr) => {{
        use $crate::mocks::aws_smithy_mocks::{MockResponseInterceptor, create_mock_http_client};
        let mut interceptor = MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        // Lets the caller's closure leave its argument's type unwritten.
        fn configure<F: Fn($sdk::config::Builder) -> $sdk::config::Builder>(f: F) -> F {
            f
        }
        $sdk::Client::from_conf(
            configure($configure)(
                $sdk::Config::builder()
                    .behavior_version($sdk::config::BehaviorVersion::latest())
                    .region($sdk::config::Region::new("us-east-1"))
                    .credentials_provider($sdk::config::Credentials::new(
                        "testing", "testing", None, None, "mock",
                    ))
                    .http_client(create_mock_http_client())
                    .interceptor(interceptor),
            )
            .build(),
        )
    }};
}
