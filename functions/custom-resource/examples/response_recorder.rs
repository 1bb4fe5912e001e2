//! Stands in for CloudFormation's pre-signed ResponseURL during local runs: listens on
//! 127.0.0.1:<port> (default 9300, the port the samples in events/ name) and prints every
//! answer a custom resource PUTs there.
//!
//! ```text
//! cargo run -p custom-resource --example response_recorder [-- PORT]
//! ```

use std::time::Duration;

use test_harness::response_url::ResponseUrl;

fn main() {
    let port = std::env::args()
        .nth(1)
        .map(|p| p.parse::<u16>().expect("PORT is a number"))
        .unwrap_or(9300);
    let server = ResponseUrl::on_port(port, [])
        .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
    eprintln!(
        "recording custom-resource answers on http://127.0.0.1:{} (Ctrl-C to stop)",
        server.port()
    );
    let mut seen = 0;
    loop {
        let got = server.wait_for(seen + 1, Duration::from_secs(3600));
        for answer in &got[seen..] {
            let body = serde_json::from_slice::<serde_json::Value>(&answer.body)
                .map(|v| serde_json::to_string_pretty(&v).expect("JSON prints"))
                .unwrap_or_else(|_| String::from_utf8_lossy(&answer.body).into_owned());
            println!(
                "{} {} (Content-Type {:?}, {} bytes)\n{body}",
                answer.method,
                answer.target.split('?').next().unwrap_or(""),
                answer.header("content-type").unwrap_or("<none>"),
                answer.body.len()
            );
        }
        seen = got.len();
    }
}
