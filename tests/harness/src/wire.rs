//! What an SDK client puts on the wire: an interceptor that reads each request (retries
//! included) just before it is sent, after signing, and can stop it there (no network). For
//! what the emulator cannot show (the endpoint and signing region a real client would use) and
//! for counting requests as AWS would see them.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// One request as it was about to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub method: String,
    pub uri: String,
    /// The SigV4 `Authorization` header (credential scope: `.../<region>/<service>/aws4_request`).
    pub authorization: Option<String>,
}

/// The interceptor: add it to a client's configuration (`.interceptor(wire.clone())`).
#[derive(Clone, Debug, Default)]
pub struct Wire {
    sent: Arc<Mutex<Vec<Sent>>>,
    stop: bool,
}

impl Wire {
    /// Records every request and lets it go.
    pub fn recording() -> Wire {
        Wire::default()
    }

    /// Records every request and stops it before it is sent: the call fails.
    pub fn stopping() -> Wire {
        Wire {
            stop: true,
            ..Wire::default()
        }
    }

    /// The requests so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().expect("wire lock").clone()
    }
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "test_harness::wire::Wire"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        self.sent.lock().expect("wire lock").push(Sent {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            authorization: request.headers().get("authorization").map(str::to_owned),
        });
        if self.stop {
            Err("stopped by test_harness::wire before sending".into())
        } else {
            Ok(())
        }
    }
}
