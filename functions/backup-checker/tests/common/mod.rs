//! Shared by the emulator tests and the bench: duplicity key layouts, a moto server seeded
//! in-process for big buckets, an S3 request counter and an SNS HTTP subscriber.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use backup_checker::stamp;
use time::OffsetDateTime;

/// One day, for key layouts.
pub const DAY: time::Duration = time::Duration::DAY;

pub const PASSPHRASE: &str = "correct-horse-battery-staple-0123456789";

/// Keys of a whole full backup set at `t` with `volumes` volumes (prefix `Backup/`).
pub fn full(t: OffsetDateTime, volumes: u32) -> Vec<String> {
    let t = stamp::duplicity(t);
    let mut keys = vec![
        format!("Backup/duplicity-full.{t}.manifest.gpg"),
        format!("Backup/duplicity-full-signatures.{t}.sigtar.gpg"),
    ];
    keys.extend((1..=volumes).map(|v| format!("Backup/duplicity-full.{t}.vol{v}.difftar.gpg")));
    keys
}

/// Keys of a whole incremental set from `a` to `b`.
pub fn inc(a: OffsetDateTime, b: OffsetDateTime, volumes: u32) -> Vec<String> {
    let (a, b) = (stamp::duplicity(a), stamp::duplicity(b));
    let mut keys = vec![
        format!("Backup/duplicity-inc.{a}.to.{b}.manifest.gpg"),
        format!("Backup/duplicity-new-signatures.{a}.to.{b}.sigtar.gpg"),
    ];
    keys.extend(
        (1..=volumes).map(|v| format!("Backup/duplicity-inc.{a}.to.{b}.vol{v}.difftar.gpg")),
    );
    keys
}

/// A healthy chain ending at `newest`: a full 3 days before it and three nightly incrementals.
pub fn chain(newest: OffsetDateTime, full_volumes: u32) -> Vec<String> {
    let t0 = newest - 3 * DAY;
    [
        full(t0, full_volumes),
        inc(t0, t0 + DAY, 2),
        inc(t0 + DAY, t0 + 2 * DAY, 1),
        inc(t0 + 2 * DAY, newest, 3),
    ]
    .concat()
}

pub const OBJECTS: usize = 100_000;

/// Two chains (an older one being retired, and the newest), 100,000 keys in all with the
/// passphrase object, which is put separately.
pub fn layout_100k(now: OffsetDateTime) -> Vec<String> {
    let old = now - 40 * DAY;
    let mut keys = full(old, 30_000);
    for d in 0..29 {
        keys.extend(inc(old + d * DAY, old + (d + 1) * DAY, 20));
    }
    let newest_full = now - 10 * DAY - time::Duration::minutes(10);
    for d in 0..10 {
        keys.extend(inc(newest_full + d * DAY, newest_full + (d + 1) * DAY, 50));
    }
    let volumes = OBJECTS - 1 - keys.len() - 2;
    keys.extend(full(newest_full, volumes as u32));
    keys.sort();
    keys
}

/// Now, to the second (as duplicity's names and the emulator's times are).
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

pub async fn put_keys(s3: &aws_sdk_s3::Client, bucket: &str, keys: &[String]) {
    for key in keys {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("put_object");
    }
}

pub async fn put_passphrase(s3: &aws_sdk_s3::Client, bucket: &str, kms: bool) {
    let put = s3
        .put_object()
        .bucket(bucket)
        .key("Backup/passphrase.txt")
        .body(ByteStream::from(PASSPHRASE.as_bytes().to_vec()));
    let put = if kms {
        put.server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id("alias/openemr")
    } else {
        put
    };
    put.send().await.expect("put passphrase");
}

pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create_bucket");
}

/// Counts S3 ListObjectsV2 requests on the wire (retries included) made by a client.
#[derive(Debug, Clone, Default)]
pub struct ListCounter(pub test_harness::wire::Wire);

impl ListCounter {
    pub fn count(&self) -> usize {
        self.0
            .sent()
            .iter()
            .filter(|s| s.method == "GET" && s.uri.contains("list-type=2"))
            .count()
    }
}

/// Clients for `config` whose S3 client counts its list requests.
pub fn counting_clients(config: &SdkConfig) -> (backup_checker::Clients, ListCounter) {
    let counter = ListCounter::default();
    let mut clients = backup_checker::Clients::new(config);
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .interceptor(counter.0.clone())
        .build();
    clients.s3 = aws_sdk_s3::Client::from_conf(s3);
    (clients, counter)
}

/// A moto server whose bucket was filled in-process (tests/seed_moto.py): for 100,000 objects.
pub struct SeededMoto {
    child: Child,
    stdin: Option<ChildStdin>,
    pub port: u16,
}

impl SeededMoto {
    pub fn start() -> SeededMoto {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed_moto.py");
        let mut child = Command::new(test_harness::tool("python"))
            .args([script, &port.to_string()])
            .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start seed_moto.py");
        let stdin = child.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "seeded moto did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SeededMoto { child, stdin, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn sdk_config(&self) -> SdkConfig {
        test_harness::emulator_sdk_config(
            &self.endpoint(),
            &test_harness::iam::Keys::testing(),
            test_harness::REGION,
        )
    }

    /// Writes `keys` (empty objects) into `bucket`, which must exist. Once per server.
    pub fn seed(&mut self, bucket: &str, keys: impl Iterator<Item = String>) {
        let mut stdin = std::io::BufWriter::new(self.stdin.as_mut().expect("seed once"));
        writeln!(stdin, "{bucket}").unwrap();
        let mut n = 0usize;
        for key in keys {
            writeln!(stdin, "{key}").unwrap();
            n += 1;
        }
        writeln!(stdin).unwrap();
        stdin.flush().unwrap();
        drop(stdin);
        let mut line = String::new();
        BufReader::new(self.child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), format!("SEEDED {n}"));
    }
}

impl Drop for SeededMoto {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP endpoint subscribed to an SNS topic: collects the notifications moto POSTs.
pub struct SnsInbox {
    pub url: String,
    messages: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl SnsInbox {
    pub fn start() -> SnsInbox {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let url = format!(
            "http://127.0.0.1:{}/sns",
            listener.local_addr().unwrap().port()
        );
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(body) = read_request(stream) {
                    if let Ok(v) = serde_json::from_slice(&body) {
                        store.lock().unwrap().push(v);
                    }
                }
            }
        });
        SnsInbox { url, messages }
    }

    /// Notifications received so far (waits up to 5 s for at least `n`).
    pub fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.messages.lock().unwrap().clone();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_request(mut stream: TcpStream) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    Some(body)
}
