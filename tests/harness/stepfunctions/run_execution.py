"""Runs one execution of a state machine on a real Amazon States Language engine: moto's
Step Functions interpreter (LocalStack's, maintained in moto), with every Lambda invocation
handed to the test that started this script.

Protocol, one JSON document per line:
  stdin, first line:  {"definition": {...}, "input": {...}, "name": execution name}
  stdout -> test:     {"invoke": {"function": ARN or name, "payload": {...}}}
                      {"advance": seconds}   (a Wait state or a Retry's interval: the test's
                                              clock moves on; nothing sleeps here)
                      {"done": {"status": ..., "error": ..., "cause": ..., "states": [...]}}
  stdin <- test:      {"payload": {...}} or {"error": {"errorType": ..., "errorMessage": ...}}
                      (an invocation's answer), {} (an advance's acknowledgement)

A function error reaches the engine as Lambda reports it (FunctionError "Unhandled", the
payload {errorType, errorMessage}), so Retry and Catch match by errorType as in AWS.
"""

import io
import json
import sys
import time

from moto import mock_aws

import boto3
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

requests_in = sys.stdin
answers_out = sys.stdout


def ask(message):
    answers_out.write(json.dumps(message) + "\n")
    answers_out.flush()
    line = requests_in.readline()
    if not line:
        raise SystemExit("the test closed the protocol")
    return json.loads(line)


class TestLambda:
    """The Lambda client the interpreter calls: each Invoke is the test's to answer."""

    def invoke(self, FunctionName, Payload=None, **_):
        payload = json.loads(Payload) if isinstance(Payload, (str, bytes)) else Payload
        answer = ask({"invoke": {"function": FunctionName, "payload": payload}})
        response = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        if "error" in answer:
            response["FunctionError"] = "Unhandled"
            body = answer["error"]
        else:
            body = answer["payload"]
        response["Payload"] = io.BytesIO(json.dumps(body).encode())
        return response


lambda_eval_utils.boto_client_for = lambda **_: TestLambda()


class AdvancingClock:
    """time.sleep for the retrier: tells the test, returns at once."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        ask({"advance": seconds})


retrier_decl.time = AdvancingClock()


def _wait_interval(self, env, wait_seconds):
    """The Wait state's interval: the test's clock moves on; nothing sleeps."""
    if wait_seconds > 0:
        ask({"advance": wait_seconds})


wait_function.WaitFunction._wait_interval = _wait_interval


def main():
    request = json.loads(requests_in.readline())
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="RestoreDrill",
            definition=json.dumps(request["definition"]),
            roleArn="arn:aws:iam::123456789012:role/RestoreDrillStateMachineRole",
        )["stateMachineArn"]
        execution = sfn.start_execution(
            stateMachineArn=machine,
            name=request["name"],
            input=json.dumps(request.get("input", {})),
        )["executionArn"]
        while True:
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
        history = sfn.get_execution_history(executionArn=execution, maxResults=1000)
        states = [
            e["stateEnteredEventDetails"]["name"]
            for e in history["events"]
            if "stateEnteredEventDetails" in e
        ]
        answers_out.write(
            json.dumps(
                {
                    "done": {
                        "status": described["status"],
                        "execution": execution,
                        "output": json.loads(described["output"]) if described.get("output") else None,
                        "error": described.get("error"),
                        "cause": described.get("cause"),
                        "states": states,
                    }
                }
            )
            + "\n"
        )
        answers_out.flush()


if __name__ == "__main__":
    main()
