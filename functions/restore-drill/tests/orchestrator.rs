//! The orchestrator's tasks in the order the generated state machine runs them, against the
//! emulator's CloudFormation, S3, RDS, EC2, CloudWatch Logs and SNS. The state machine is the
//! template's own definition, run by a Step Functions engine (moto's interpreter,
//! [`test_harness::stepfunctions`]): its Parameters, ResultPaths, Retry and Catch edges,
//! Choices and context object are the engine's; each orchestrator invocation runs the task
//! entry point ([`restore_drill::handle`]) here, on the drill's clock.
//! The source stack is a stand-in (moto cannot create the real template), the drill template a
//! small one uploaded as `stack-ops package` uploads it; the verifier's step is stood in by
//! the pure comparison (tests/data.rs runs the verifier against real servers).

use aws_config::SdkConfig;
use serde_json::{Value, json};
use stack_contract::env::Env;
use stack_contract::restore_drill::{
    self as contract, DRILL_TAG, FINGERPRINT_KEY, LAST_SUCCESS_KEY, OUTCOME_DELETED, REPORT_PREFIX,
    SOURCE_STACK_TAG, orchestrator as env_names,
};
use test_harness::Moto;
use test_harness::stepfunctions::{Execution, Request};
use time::OffsetDateTime;

const SOURCE: &str = "openemr";
/// The orchestrator's ARN in the definition the engine runs.
const ORCHESTRATOR: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:openemr-RestoreDrillFunction";
const CODE_BUCKET: &str = "openemr-code";
const TEMPLATE_KEY: &str = "templates/recovery-drill/abc.json";

fn source_template() -> Value {
    json!({
        "Parameters": {
            "TimeZone": {"Type": "String", "Default": "America/Denver"},
            "DBInstanceClass": {"Type": "String", "Default": "db.r6g.large"},
            "KeyId": {"Type": "String"}
        },
        "Resources": {
            "OpenEMRKey": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": {"Ref": "KeyId"}, "Type": "String", "Value": "stand-in"}},
            // Named as the real template names it: `openemr-<the stack's UUID>`.
            "S3Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": {"Fn::Join": ["-", ["openemr", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]]},
                "VersioningConfiguration": {"Status": "Enabled"}}},
            "RDSInstance": {"Type": "AWS::RDS::DBInstance", "Properties": {
                "Engine": "mysql", "EngineVersion": "8.0", "DBInstanceClass": {"Ref": "DBInstanceClass"},
                "AllocatedStorage": 20, "MasterUsername": "openemr", "MasterUserPassword": "stand-in-password"}}
        }
    })
}

/// What the drill stack does when created.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DrillStack {
    /// Comes up.
    Comes,
    /// Fails to create (CreateStack is refused).
    Fails,
    /// Never finishes: a custom resource whose function never answers (moto cannot run it),
    /// as a real one that hangs keeps a stack CREATE_IN_PROGRESS.
    Hangs,
}

/// A drill template with the recovery template's inputs, a bucket (which teardown must
/// empty) and the outputs the drill reads.
fn drill_template(kind: DrillStack) -> Value {
    let mut resources = json!({
        // Named as the drill template names it (its role may empty only such buckets).
        "S3Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": stack_gen::stack::drill_resource_name(None)}},
        "Marker": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-marker"}, "Type": "String", "Value": {"Ref": "RecoveryRDSSnapshotARN"}}}
    });
    match kind {
        DrillStack::Comes => {}
        DrillStack::Fails => {
            resources["Broken"] = json!({"Type": "AWS::EC2::Instance", "Properties": {"ImageId": "ami-does-not-exist", "InstanceType": "no.such.type", "SubnetId": "subnet-nope"}});
        }
        DrillStack::Hangs => {
            resources["HoldRole"] = json!({"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}});
            resources["HoldFunction"] = json!({"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "provided.al2023", "Handler": "bootstrap", "Role": {"Fn::GetAtt": ["HoldRole", "Arn"]}, "Code": {"ZipFile": "never answers"}}});
            resources["Hold"] = json!({"Type": "Custom::Hold", "Properties": {"ServiceToken": {"Fn::GetAtt": ["HoldFunction", "Arn"]}}});
        }
    }
    json!({
        "Parameters": {
            "RecoveryKMSKey": {"Type": "String"},
            "RecoveryRDSSnapshotARN": {"Type": "String"},
            "RecoveryS3Bucket": {"Type": "String"},
            "TimeZone": {"Type": "String", "Default": ""},
            "DBInstanceClass": {"Type": "String", "Default": "db.t4g.medium"},
            "RDSPassword": {"Type": "String", "NoEcho": true, "Default": ""}
        },
        "Resources": resources,
        "Outputs": {
            contract::VERIFIER_OUTPUT: {"Value": {"Fn::Sub": "${AWS::StackName}-verifier"}},
            contract::APPLICATION_URL_OUTPUT: {"Value": "http://internal-lb/interface/login/login.php"}
        }
    })
}

struct World {
    moto: Moto,
    sdk: SdkConfig,
    bucket: String,
    key_arn: String,
    topic: String,
    source_id: String,
    db_instance: String,
}

impl World {
    async fn new(kind: DrillStack) -> World {
        World::on(Moto::start(), kind).await
    }

    async fn on(moto: Moto, kind: DrillStack) -> World {
        let sdk = moto.sdk_config().await;
        let key_arn = test_harness::recovery::create_key(&sdk).await;
        let key_id = key_arn.rsplit('/').next().unwrap().to_owned();
        let cfn = aws_sdk_cloudformation::Client::new(&sdk);
        let source_id = cfn
            .create_stack()
            .stack_name(SOURCE)
            .template_body(source_template().to_string())
            .parameters(
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key("KeyId")
                    .parameter_value(&key_id)
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .stack_id
            .unwrap();
        let resources = cfn
            .list_stack_resources()
            .stack_name(SOURCE)
            .send()
            .await
            .unwrap();
        let physical = |logical: &str| {
            resources
                .stack_resource_summaries()
                .iter()
                .find(|r| r.logical_resource_id() == Some(logical))
                .and_then(|r| r.physical_resource_id())
                .unwrap()
                .to_owned()
        };
        let bucket = physical("S3Bucket");
        let db_instance = physical("RDSInstance");
        test_harness::recovery::snapshot_db(&sdk, &db_instance, "nightly").await;
        let s3 = aws_clients::s3_client(&sdk);
        s3.put_object()
            .bucket(&bucket)
            .key(FINGERPRINT_KEY)
            .body(serde_json::to_vec(&fingerprint()).unwrap().into())
            .send()
            .await
            .unwrap();
        s3.create_bucket().bucket(CODE_BUCKET).send().await.unwrap();
        s3.put_object()
            .bucket(CODE_BUCKET)
            .key(TEMPLATE_KEY)
            .body(drill_template(kind).to_string().into_bytes().into())
            .send()
            .await
            .unwrap();
        let topic = aws_sdk_sns::Client::new(&sdk)
            .create_topic()
            .name("OperatorAlerts")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        World {
            moto,
            sdk,
            bucket,
            key_arn,
            topic,
            source_id,
            db_instance,
        }
    }

    /// An SDK configuration holding only what the generated template gives `role` (IAM
    /// enforced by the emulator), its references resolved to this world's resources.
    async fn as_role(&self, role: &str) -> SdkConfig {
        let template = stack_gen::generate(&stack_gen::Options::default())
            .unwrap()
            .to_json();
        let mut refs = test_harness::iam::stack_env(&self.bucket);
        for (name, value) in [
            ("AWS::StackName", SOURCE.to_owned()),
            ("AWS::StackId", self.source_id.clone()),
            ("OpenEMRKey.Arn", self.key_arn.clone()),
            ("OperatorAlerts", self.topic.clone()),
            ("RDSInstance", self.db_instance.clone()),
            ("LambdaCodeBucket", CODE_BUCKET.to_owned()),
        ] {
            refs.insert(name.to_owned(), value);
        }
        test_harness::iam::component(&self.moto, &template, role, &refs).await
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (env_names::STACK_NAME, SOURCE.to_owned()),
            (env_names::BUCKET, self.bucket.clone()),
            (env_names::KMS_KEY_ARN, self.key_arn.clone()),
            (
                env_names::TEMPLATE_URL,
                format!("https://{CODE_BUCKET}.s3.amazonaws.com/{TEMPLATE_KEY}"),
            ),
            (
                env_names::STACK_ROLE_ARN,
                "arn:aws:iam::123456789012:role/openemr-DrillStackRole".to_owned(),
            ),
            (env_names::TOPIC, self.topic.clone()),
        ]
    }

    async fn stack_status(&self, name: &str) -> Option<String> {
        let cfn = aws_sdk_cloudformation::Client::new(&self.sdk);
        cfn.describe_stacks()
            .stack_name(name)
            .send()
            .await
            .ok()
            .and_then(|o| {
                o.stacks()
                    .first()
                    .and_then(|s| s.stack_status().map(|s| s.as_str().to_owned()))
            })
    }
}

fn fingerprint() -> restore_drill::fingerprint::Fingerprint {
    use restore_drill::fingerprint::*;
    Fingerprint {
        format_version: FORMAT_VERSION,
        stack: SOURCE.into(),
        recorded_at: OffsetDateTime::now_utc(),
        database: Database {
            schema: "openemr".into(),
            tables: 250,
            rows: MAIN_TABLES.iter().map(|t| ((*t).to_owned(), 10)).collect(),
        },
        documents: None,
        files: Files {
            site_files: vec!["default/sqlconf.php".into()],
            document_files: 3,
            document_bytes: 300,
        },
    }
}

/// One drill execution: its tasks' clock, credentials and faults, and what it did.
struct Drill<'a> {
    world: &'a World,
    metrics: Vec<u8>,
    /// The tasks run, in order (a retried one twice).
    path: Vec<String>,
    /// The state the machine ended in (Succeed or Fail).
    end: Option<String>,
    /// The execution's clock: the tasks' `now`.
    clock: OffsetDateTime,
    /// When the execution started.
    start: OffsetDateTime,
    /// Attempts of a task that reach no AWS endpoint (a port nothing listens on): a real
    /// failure of the SDK's call, as an outage or a network fault gives it.
    unreachable: Vec<(&'static str, u32)>,
    /// Log groups the drill stack's resources write to, made when the stack is ready (AWS
    /// makes them as the database and the functions run; deleting the stack leaves them).
    logs_of_the_drill: bool,
    /// The tasks' credentials (the emulator's admin unless set).
    sdk: SdkConfig,
    /// The Step Functions execution's id (`$$.Execution.Id`).
    execution: String,
    /// How long each task took (real time, against the emulator).
    timings: Vec<(String, std::time::Duration)>,
}

impl<'a> Drill<'a> {
    fn new(world: &'a World) -> Drill<'a> {
        let now = OffsetDateTime::now_utc();
        Drill {
            world,
            metrics: Vec::new(),
            path: Vec::new(),
            end: None,
            clock: now,
            start: now,
            unreachable: Vec::new(),
            logs_of_the_drill: false,
            sdk: world.sdk.clone(),
            execution: "arn:aws:states:us-east-1:123456789012:execution:RestoreDrill:test".into(),
            timings: Vec::new(),
        }
    }

    /// `$$.Execution.StartTime`: the clock when the drill was made (its execution started).
    fn started(&self) -> String {
        self.start
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    /// The state the Start state makes: the execution's id and start time.
    fn start_state(&self) -> Value {
        json!({ "execution": self.execution, "started": self.started() })
    }

    /// The SDK configuration of the next attempt of `task`.
    fn sdk_for(&mut self, task: &str) -> SdkConfig {
        if let Some((_, left)) = self
            .unreachable
            .iter_mut()
            .find(|(t, left)| *t == task && *left > 0)
        {
            *left -= 1;
            return self
                .sdk
                .to_builder()
                .endpoint_url("http://127.0.0.1:1")
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build();
        }
        self.sdk.clone()
    }

    /// One task, called directly: Ok(new state), or Err(state + error) as a Catch into
    /// `$.error` hands it on.
    async fn task(&mut self, task: &str, state: Value) -> Result<Value, Value> {
        self.invoke(task, state.clone())
            .await
            .map_err(|(error, message)| {
                let mut caught = state;
                caught[contract::ERROR] = json!({
                    "Error": error,
                    "Cause": json!({"errorType": error, "errorMessage": message}).to_string(),
                });
                caught
            })
    }

    /// One invocation of the orchestrator: Ok(new state), or Err((errorType, errorMessage)) as
    /// Lambda reports a function error.
    async fn invoke(&mut self, task: &str, state: Value) -> Result<Value, (String, String)> {
        self.path.push(task.to_owned());
        let vars = self.world.env();
        let env = Env::new(move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        });
        let sdk = self.sdk_for(task);
        let event = json!({ contract::TASK: task, contract::STATE: state.clone() });
        let started = std::time::Instant::now();
        let result = restore_drill::handle(
            &restore_drill::Clients::new(&sdk),
            &env,
            event,
            self.clock,
            &mut self.metrics,
        )
        .await;
        self.timings.push((task.to_owned(), started.elapsed()));
        result.map_err(|e| (e.error_type().to_owned(), e.to_string()))
    }

    /// The log groups a drill's resources leave: its verifier's, its database's.
    async fn make_the_drills_log_groups(&self, state: &Value) {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&self.world.sdk);
        let name = contract::resource_name(&self.world.bucket, state["stack_id"].as_str().unwrap())
            .unwrap();
        for group in [
            format!("/aws/lambda/{name}{}", contract::VERIFIER_SUFFIX),
            format!("/aws/rds/instance/{name}/error"),
        ] {
            logs.create_log_group()
                .log_group_name(group)
                .send()
                .await
                .unwrap();
        }
    }

    /// The whole drill: the template's state machine run by a Step Functions engine
    /// ([`test_harness::stepfunctions`]), whose orchestrator invocations run the task code here
    /// on this drill's clock (moved by the Wait states and Retry intervals); `verify` stands in
    /// for the drill stack's verifier (the `lambda:invoke` state). Returns the last state a task
    /// returned (the report's, when the drill got that far).
    async fn run(&mut self, verify: impl Fn(Value, OffsetDateTime) -> Value) -> Value {
        let template = stack_gen::generate(&stack_gen::Options::default())
            .unwrap()
            .to_json();
        let machine = &template["Resources"]["RestoreDrillStateMachine"]["Properties"];
        let placeholder = format!(
            "${{{}}}",
            machine["DefinitionSubstitutions"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
        );
        let definition: Value = serde_json::from_str(
            &machine["Definition"]
                .to_string()
                .replace(&placeholder, ORCHESTRATOR),
        )
        .unwrap();
        let name = self.execution.rsplit(':').next().unwrap().to_owned();
        let mut execution = Execution::start(&definition, &json!({}), &name).await;
        let mut last = json!({});
        loop {
            match execution.next().await {
                Request::Invoke { function, payload } if function == ORCHESTRATOR => {
                    if self.path.is_empty() {
                        // The drill's clock starts when the engine started the execution.
                        let started = payload[contract::STATE]["started"].as_str().unwrap();
                        self.start = OffsetDateTime::parse(
                            started,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .unwrap();
                        self.clock = self.start;
                    }
                    let task = payload[contract::TASK].as_str().unwrap().to_owned();
                    let result = self.invoke(&task, payload[contract::STATE].clone()).await;
                    if let Ok(state) = &result {
                        last = state.clone();
                    }
                    execution.answer(result).await;
                }
                Request::Invoke { function, payload } => {
                    let state = payload[contract::STATE].clone();
                    assert_eq!(payload[contract::TASK], contract::TASK_VERIFY);
                    assert_eq!(state[contract::VERIFIER_FUNCTION], json!(function));
                    self.path.push(contract::TASK_VERIFY.into());
                    if self.logs_of_the_drill {
                        self.make_the_drills_log_groups(&state).await;
                    }
                    execution.answer(Ok(verify(state, self.clock))).await;
                }
                Request::Advance(seconds) => {
                    self.clock += time::Duration::seconds_f64(seconds);
                    execution.resume().await;
                }
                Request::Done(done) => {
                    let states = done["states"].as_array().unwrap();
                    self.end = states.last().and_then(Value::as_str).map(str::to_owned);
                    return last;
                }
            }
        }
    }

    fn metric_lines(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.metrics)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The verifier's step, stood in: the restored data equals the fingerprint, the login page
/// answered.
fn restored_as_recorded(mut state: Value, now: OffsetDateTime) -> Value {
    let recorded = fingerprint();
    let verification = restore_drill::fingerprint::compare(&recorded, &recorded, 1);
    state["verification"] = serde_json::to_value(verification).unwrap();
    state["application_answered"] = json!(
        now.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    );
    state
}

async fn object(world: &World, key: &str) -> Option<Value> {
    let out = aws_clients::s3_client(&world.sdk)
        .get_object()
        .bucket(&world.bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    Some(serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap())
}

#[tokio::test]
async fn a_drill_builds_verifies_tears_down_and_reports() {
    let world = World::new(DrillStack::Comes).await;
    let mut drill = Drill::new(&world);
    drill.logs_of_the_drill = true;
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(state["ok"], json!(true), "{state:#}");
    assert_eq!(
        drill.path,
        [
            "gather",
            "build",
            "check",
            "verify",
            "teardown",
            "check-teardown",
            "report"
        ]
    );
    assert_eq!(drill.end.as_deref(), Some("DrillSucceeded"));
    let name = state["drill_stack"].as_str().unwrap().to_owned();
    assert!(name.starts_with("openemr-drill-"), "{name}");
    // The drill stack is gone, the source untouched.
    assert_eq!(
        world
            .stack_status(&name)
            .await
            .as_deref()
            .unwrap_or("DELETE_COMPLETE"),
        "DELETE_COMPLETE"
    );
    assert_eq!(
        world.stack_status(SOURCE).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    // The report, and the marker the backup checker reads.
    let key = state["report_key"].as_str().unwrap();
    assert!(
        key.starts_with(REPORT_PREFIX) && key.ends_with(".json"),
        "{key}"
    );
    let report = object(&world, key)
        .await
        .expect("the report is in the bucket");
    println!(
        "drill report:\n{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    let timings: Vec<String> = drill
        .timings
        .iter()
        .map(|(task, took)| format!("{task} {} ms", took.as_millis()))
        .collect();
    println!(
        "the drill's tasks against the emulator: {}",
        timings.join(", ")
    );
    assert_eq!(report["ok"], json!(true));
    // RTO: from the start to the login page answering, past one 60 s Wait on the clock.
    let rto = report["recovery_minutes"].as_f64().unwrap();
    assert!((1.0..1.1).contains(&rto), "{rto}");
    assert!(report["data_age_hours"].as_f64().unwrap() >= 0.0);
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["gather", "build", "wait", "teardown"]);
    // The log groups the drill's verifier and database left are gone too.
    assert!(
        report["steps"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("removed 2 log group(s)"),
        "{report:#}"
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&world.sdk);
    let left = logs.describe_log_groups().send().await.unwrap();
    assert!(left.log_groups().is_empty(), "{:?}", left.log_groups());
    assert_eq!(
        object(&world, LAST_SUCCESS_KEY).await.unwrap()["execution"],
        report["execution"]
    );
    let metrics = drill.metric_lines();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0][contract::OK_METRIC], json!(1));
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        json!(contract::NAMESPACE)
    );
    // The stack was tagged as a drill of the source: checked on the stack before teardown in
    // the next test; here the outcome says teardown completed.
    assert_eq!(state[contract::OUTCOME], json!(OUTCOME_DELETED));
}

#[tokio::test]
async fn the_drill_stack_is_tagged_and_built_with_the_recovery_inputs_and_overrides() {
    let world = World::new(DrillStack::Comes).await;
    let mut drill = Drill::new(&world);
    let gathered = drill
        .task(contract::TASK_GATHER, drill.start_state())
        .await
        .unwrap();
    let built = drill.task(contract::TASK_BUILD, gathered).await.unwrap();
    let cfn = aws_sdk_cloudformation::Client::new(&world.sdk);
    let stack = cfn
        .describe_stacks()
        .stack_name(built["stack_id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let stack = &stack.stacks()[0];
    let tags: Vec<(String, String)> = stack
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    assert!(
        tags.contains(&(DRILL_TAG.to_owned(), contract::DRILL_TAG_VALUE.to_owned())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&(SOURCE_STACK_TAG.to_owned(), SOURCE.to_owned())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&(contract::EXECUTION_TAG.to_owned(), drill.execution.clone())),
        "{tags:?}"
    );
    let parameters: std::collections::BTreeMap<String, String> = stack
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(parameters["RecoveryS3Bucket"], world.bucket);
    assert!(
        parameters["RecoveryRDSSnapshotARN"].contains("nightly"),
        "{parameters:?}"
    );
    assert_eq!(
        parameters["TimeZone"], "America/Denver",
        "copied from the source"
    );
    assert_eq!(
        parameters["DBInstanceClass"], "db.t4g.micro",
        "the drill's override"
    );
    assert_ne!(
        parameters.get("RDSPassword").map(String::as_str),
        Some("stand-in-password")
    );
    // A retried build (same execution) cannot make a second stack.
    let again = drill.task(contract::TASK_BUILD, built.clone()).await;
    let stacks = cfn.list_stacks().send().await.unwrap();
    let drills = stacks
        .stack_summaries()
        .iter()
        .filter(|s| {
            s.stack_name().unwrap().starts_with("openemr-drill-")
                && s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE")
        })
        .count();
    assert_eq!(drills, 1, "after a retried build: {again:?}");
}

#[tokio::test]
async fn a_drill_stack_that_fails_to_create_is_reported_failed_and_still_torn_down() {
    let world = World::new(DrillStack::Fails).await;
    let mut drill = Drill::new(&world);
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(state["ok"], json!(false), "{state:#}");
    assert!(
        drill.path.contains(&"teardown".to_owned()),
        "{:?} {state:#}",
        drill.path
    );
    assert!(
        !drill.path.contains(&"verify".to_owned()),
        "{:?}",
        drill.path
    );
    assert_eq!(drill.end.as_deref(), Some("DrillFailed"));
    let report = object(&world, state["report_key"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(report["ok"], json!(false));
    assert!(
        !report["problems"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    assert!(object(&world, LAST_SUCCESS_KEY).await.is_none());
    assert_eq!(drill.metric_lines()[0][contract::OK_METRIC], json!(0));
    if let Some(name) = state["drill_stack"].as_str() {
        assert_eq!(
            world
                .stack_status(name)
                .await
                .as_deref()
                .unwrap_or("DELETE_COMPLETE"),
            "DELETE_COMPLETE",
            "{:?} {state:#}",
            drill.path
        );
    }
    assert_eq!(
        world.stack_status(SOURCE).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test]
async fn a_second_drill_is_refused_while_one_exists_and_reports_nothing() {
    let world = World::new(DrillStack::Comes).await;
    let cfn = aws_sdk_cloudformation::Client::new(&world.sdk);
    cfn.create_stack()
        .stack_name("openemr-drill-20261101")
        .template_body(json!({"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "running-drill", "Type": "String", "Value": "x"}}}}).to_string())
        .send()
        .await
        .unwrap();
    let mut drill = Drill::new(&world);
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(drill.path, ["gather", "report"]);
    assert_eq!(drill.end.as_deref(), Some("DrillFailed"));
    assert_eq!(state["ok"], json!(false));
    assert_eq!(state["refused"], json!(true));
    assert!(
        state["failures"][0]
            .as_str()
            .unwrap()
            .contains("openemr-drill-20261101"),
        "{state:#}"
    );
    // The running drill's report is not overwritten, and no metric says a drill failed.
    assert!(state["report_key"].is_null());
    assert!(drill.metric_lines().is_empty());
    assert_eq!(
        world
            .stack_status("openemr-drill-20261101")
            .await
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
}

/// Two executions at once (the schedule delivers at least once; a manual start on a scheduled
/// day): both gather before either builds, the first makes today's drill stack, and the
/// second, refused by the stack's name, deletes nothing of the first's and reports nothing.
#[tokio::test]
async fn of_two_executions_at_once_one_drills_and_the_other_touches_nothing() {
    let world = World::new(DrillStack::Comes).await;
    let mut first = Drill::new(&world);
    let mut second = Drill::new(&world);
    second.execution = "arn:aws:states:us-east-1:123456789012:execution:RestoreDrill:second".into();
    let a = first
        .task(contract::TASK_GATHER, first.start_state())
        .await
        .unwrap();
    let b = second
        .task(contract::TASK_GATHER, second.start_state())
        .await
        .unwrap();
    let a = first.task(contract::TASK_BUILD, a).await.unwrap();
    let name = a["drill_stack"].as_str().unwrap().to_owned();
    assert_eq!(b["drill_stack"], json!(name), "the same day's drill");

    let caught = second
        .task(contract::TASK_BUILD, b.clone())
        .await
        .unwrap_err();
    assert_eq!(caught["error"]["Error"], json!("DrillAlreadyRunning"));
    // What the state machine does next: Teardown, CheckTeardown, Report.
    let b = second.task(contract::TASK_TEARDOWN, caught).await.unwrap();
    let b = second.task(contract::TASK_CHECK_TEARDOWN, b).await.unwrap();
    assert_eq!(b["outcome"], json!(contract::OUTCOME_DELETED), "{b:#}");
    let b = second.task(contract::TASK_REPORT, b).await.unwrap();
    assert_eq!(b["refused"], json!(true), "{b:#}");
    assert!(b["report_key"].is_null(), "{b:#}");
    assert!(second.metric_lines().is_empty());
    assert_eq!(
        world.stack_status(&name).await.as_deref(),
        Some("CREATE_COMPLETE"),
        "the first execution's drill stands"
    );
}

/// Gather fails (S3 unreachable): its Catch hands Report the state the Start state made, so
/// the report still names the execution and when it started.
#[tokio::test]
async fn a_drill_whose_gather_fails_reports_its_execution_and_start() {
    let world = World::new(DrillStack::Comes).await;
    let mut drill = Drill::new(&world);
    drill.unreachable = vec![(contract::TASK_GATHER, 1)];
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(drill.path, ["gather", "report"]);
    assert_eq!(drill.end.as_deref(), Some("DrillFailed"));
    let report = object(&world, state["report_key"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(report["execution"], json!(drill.execution));
    assert_eq!(report["started"], json!(drill.started()));
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("gather: "),
        "{report:#}"
    );
}

/// Build fails for good, then teardown too: the report keeps both failures.
#[tokio::test]
async fn a_failed_teardown_after_a_failed_build_reports_both() {
    let world = World::new(DrillStack::Comes).await;
    let mut drill = Drill::new(&world);
    drill.unreachable = vec![(contract::TASK_BUILD, 1), (contract::TASK_TEARDOWN, 3)];
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(drill.end.as_deref(), Some("DrillFailed"));
    let report = object(&world, state["report_key"].as_str().unwrap())
        .await
        .unwrap();
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        problems.iter().any(|p| p.starts_with("build: ")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("teardown: ")),
        "{problems:#?}"
    );
}

#[tokio::test]
async fn teardown_never_deletes_a_stack_that_is_not_a_drill() {
    let world = World::new(DrillStack::Comes).await;
    let mut drill = Drill::new(&world);
    let source_id = world.stack_status(SOURCE).await;
    assert!(source_id.is_some());
    let forged = json!({"stack_id": SOURCE, "drill_stack": SOURCE});
    let caught = drill
        .task(contract::TASK_TEARDOWN, forged)
        .await
        .unwrap_err();
    assert_eq!(caught["error"]["Error"], json!("DrillNotADrillStack"));
    assert_eq!(
        world.stack_status(SOURCE).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    let _ = &world.moto;
}

#[tokio::test]
async fn a_drill_stack_that_never_comes_up_times_out_and_is_torn_down() {
    let world = World::new(DrillStack::Hangs).await;
    let mut drill = Drill::new(&world);
    let started = drill.clock;
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(state["ok"], json!(false), "{state:#}");
    assert_eq!(drill.end.as_deref(), Some("DrillFailed"));
    // It checked until DrillWaitMinutes (the default) had passed on the execution's clock.
    let checks = drill.path.iter().filter(|t| *t == "check").count();
    assert!(checks > 100, "{checks} checks: {:?}", drill.path);
    assert!(
        drill.clock - started
            > time::Duration::minutes(i64::from(
                stack_contract::restore_drill::orchestrator::DEFAULT_WAIT_MINUTES
            ))
    );
    assert!(!drill.path.contains(&"verify".to_owned()));
    let report = object(&world, state["report_key"].as_str().unwrap())
        .await
        .unwrap();
    let wait = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "wait")
        .unwrap_or_else(|| panic!("no wait step: {report:#}"));
    assert_eq!(wait["result"], json!("timed_out"), "{report:#}");
    assert!(
        wait["detail"]
            .as_str()
            .unwrap()
            .contains("DrillWaitMinutes"),
        "{wait:#}"
    );
    assert_eq!(
        world
            .stack_status(state["drill_stack"].as_str().unwrap())
            .await
            .as_deref()
            .unwrap_or("DELETE_COMPLETE"),
        "DELETE_COMPLETE",
        "a drill stack still being created is deleted"
    );
    assert_eq!(
        world.stack_status(SOURCE).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(drill.metric_lines()[0][contract::OK_METRIC], json!(0));
}

#[tokio::test]
async fn a_teardown_that_fails_once_is_retried_and_the_drill_still_passes() {
    let world = World::new(DrillStack::Comes).await;
    let mut drill = Drill::new(&world);
    drill.unreachable = vec![(contract::TASK_TEARDOWN, 1)];
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(state["ok"], json!(true), "{state:#}");
    assert_eq!(
        drill.path.iter().filter(|t| *t == "teardown").count(),
        2,
        "{:?}",
        drill.path
    );
    assert_eq!(
        world
            .stack_status(state["drill_stack"].as_str().unwrap())
            .await
            .as_deref()
            .unwrap_or("DELETE_COMPLETE"),
        "DELETE_COMPLETE"
    );
}

#[tokio::test]
async fn a_teardown_that_keeps_failing_is_reported_with_the_stack_left_to_delete() {
    let world = World::new(DrillStack::Comes).await;
    let mut drill = Drill::new(&world);
    // The first attempt and both of the definition's retries.
    drill.unreachable = vec![(contract::TASK_TEARDOWN, 3)];
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(state["ok"], json!(false), "{state:#}");
    assert_eq!(drill.end.as_deref(), Some("DrillFailed"));
    assert_eq!(
        drill.path.iter().filter(|t| *t == "teardown").count(),
        3,
        "{:?}",
        drill.path
    );
    let name = state["drill_stack"].as_str().unwrap();
    assert_eq!(
        world.stack_status(name).await.as_deref(),
        Some("CREATE_COMPLETE"),
        "nothing deleted it"
    );
    let report = object(&world, state["report_key"].as_str().unwrap())
        .await
        .unwrap();
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("teardown") && problems.contains(name),
        "the report names the stack left standing: {report:#}"
    );
    assert!(object(&world, LAST_SUCCESS_KEY).await.is_none());
}

/// The whole drill with only what the template gives `RestoreDrillRole` (IAM enforced by the
/// emulator; `stack-gen/tests/iam_conditions.rs` judges its Conditions and Denies): it reads
/// the source, builds, empties and deletes its own drill stack, cleans up and reports; it may
/// not delete or read the source's data.
#[tokio::test]
async fn its_own_role_runs_the_whole_drill_and_cannot_touch_the_source() {
    let world = World::on(Moto::start_with_iam(), DrillStack::Comes).await;
    let role = world.as_role("RestoreDrillRole").await;
    let mut drill = Drill::new(&world);
    drill.sdk = role.clone();
    drill.logs_of_the_drill = true;
    let state = drill.run(restored_as_recorded).await;
    assert_eq!(state["ok"], json!(true), "{state:#}");
    assert_eq!(drill.end.as_deref(), Some("DrillSucceeded"));
    assert!(
        object(&world, state["report_key"].as_str().unwrap())
            .await
            .is_some()
    );

    // What the role may not do to the source: read or delete its backups, delete its bucket.
    let s3 = aws_clients::s3_client(&role);
    assert!(
        s3.get_object()
            .bucket(&world.bucket)
            .key(LAST_SUCCESS_KEY)
            .send()
            .await
            .is_err(),
        "the orchestrator read a report it only writes"
    );
    assert!(
        s3.delete_object()
            .bucket(&world.bucket)
            .key(FINGERPRINT_KEY)
            .send()
            .await
            .is_err(),
        "the orchestrator deleted the source's fingerprint"
    );
    assert!(
        s3.list_object_versions()
            .bucket(&world.bucket)
            .send()
            .await
            .is_err(),
        "the orchestrator may list the source's bucket as it empties a drill's"
    );
    assert_eq!(
        world.stack_status(SOURCE).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}
