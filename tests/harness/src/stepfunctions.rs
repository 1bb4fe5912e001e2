//! A state machine's execution on a real Amazon States Language engine: moto's Step Functions
//! interpreter (`tests/harness/stepfunctions/run_execution.py`), in-process in a Python child,
//! with every Lambda invocation, Wait and Retry interval handed to the test. The engine does
//! what Step Functions does with Parameters, ResultPath, Retry, Catch, Choice and the context
//! object (`$$`); the test answers the invocations with the real task code and keeps the clock.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::{tool, workspace_root};

/// What the engine asks of the test next.
#[derive(Debug)]
pub enum Request {
    /// Invoke `function` (an ARN, or a name from `FunctionName.$`) with `payload`: answer with
    /// [`Execution::answer`].
    Invoke { function: String, payload: Value },
    /// A Wait state's or a Retry's interval, in seconds: move the clock, then
    /// [`Execution::resume`].
    Advance(f64),
    /// The execution ended: `status`, `error`, `cause`, `output`, `states` (the names of the
    /// states entered, in order).
    Done(Value),
}

/// One running execution.
pub struct Execution {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Execution {
    /// Starts execution `name` of `definition` with `input`.
    pub async fn start(definition: &Value, input: &Value, name: &str) -> Execution {
        let mut child = Command::new(tool("python"))
            .arg(workspace_root().join("tests/harness/stepfunctions/run_execution.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the Step Functions engine (.venv's python with moto)");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut execution = Execution {
            child,
            stdin,
            lines,
        };
        execution
            .send(&json!({ "definition": definition, "input": input, "name": name }))
            .await;
        execution
    }

    async fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The engine's next request.
    pub async fn next(&mut self) -> Request {
        let Some(line) = self.lines.next_line().await.unwrap() else {
            let mut stderr = String::new();
            if let Some(mut e) = self.child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = e.read_to_string(&mut stderr).await;
            }
            panic!("the Step Functions engine stopped without a result:\n{stderr}");
        };
        let message: Value = serde_json::from_str(&line).expect("a JSON line from the engine");
        if let Some(invoke) = message.get("invoke") {
            Request::Invoke {
                function: invoke["function"].as_str().unwrap().to_owned(),
                payload: invoke["payload"].clone(),
            }
        } else if let Some(seconds) = message.get("advance") {
            Request::Advance(seconds.as_f64().unwrap())
        } else {
            Request::Done(message["done"].clone())
        }
    }

    /// Answers an invocation: the function's result, or its error as Lambda reports a
    /// function error (`errorType` is what Retry and Catch match).
    pub async fn answer(&mut self, result: Result<Value, (String, String)>) {
        let message = match result {
            Ok(payload) => json!({ "payload": payload }),
            Err((error_type, message)) => {
                json!({ "error": { "errorType": error_type, "errorMessage": message } })
            }
        };
        self.send(&message).await;
    }

    /// Resumes after an [`Request::Advance`].
    pub async fn resume(&mut self) {
        self.send(&json!({})).await;
    }
}
