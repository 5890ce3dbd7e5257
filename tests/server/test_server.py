#!/usr/bin/env python3
"""selfextend-server end to end: the real server on a free port, talked to with curl and with the
official openai Python client (from PyPI, in a venv this script makes in the build tree; the
product itself stays Python-free).

usage: test_server.py SERVER CLI MODEL SAMPLE VENV_DIR

Exit 77 (CTest: skipped) when the venv cannot be made on a user's machine without network; under
CI=true that is a failure.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

server_bin, cli_bin, model, sample, venv = sys.argv[1:6]
here = Path(__file__).resolve().parent
failures = []


def check(condition, message):
    print(("ok: " if condition else "FAIL: ") + message, flush=True)
    if not condition:
        failures.append(message)


def venv_python():
    """The venv's python with the openai package, made once per build tree."""
    python = Path(venv) / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import openai"]).returncode == 0:
        return python
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", venv]).returncode == 0 and \
        subprocess.run([python, "-m", "pip", "install", "-q", "openai"]).returncode == 0
    if made:
        return python
    if os.environ.get("CI") == "true":
        print("FAIL: cannot install the openai package into a venv (pip install openai)")
        sys.exit(1)
    print("SKIP: the openai client could not be installed (python3-venv and network for "
          "`pip install openai` are needed); run this test again with them")
    sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curl(*args, max_time=60):
    """(status, body) of a curl call."""
    done = subprocess.run(["curl", "-s", "-m", str(max_time), "-w", "\n%{http_code}", *args],
                          capture_output=True, text=True)
    body, _, status = done.stdout.rpartition("\n")
    return int(status or 0), body


python = venv_python()
work = Path(tempfile.mkdtemp(prefix="selfextend-server-test-"))
port = free_port()
base = f"http://127.0.0.1:{port}"
log_path = work / "server.log"
log = log_path.open("w")
env = dict(os.environ, SE_CACHE_DIR=str(work / "kv"))
server = subprocess.Popen([server_bin, "-m", model, "--port", str(port), "-t", "2",
                           "--max-queue", "1", "--max-body-mb", "1"],
                          stdout=log, stderr=subprocess.STDOUT, env=env)
try:
    for _ in range(100):
        if curl(f"{base}/health", max_time=2)[0] == 200:
            break
        time.sleep(0.2)
    status, body = curl(f"{base}/health")
    check(status == 200 and json.loads(body)["training_window"] == 512, f"/health: {body}")

    # curl: a plain request, malformed and refused ones, limits.
    status, body = curl(f"{base}/v1/chat/completions", "-d",
                        json.dumps({"messages": [{"role": "user", "content": "Hello"}],
                                    "max_tokens": 4, "frequency_penalty": 0, "user": "x",
                                    "some_unknown_field": {"a": 1}}))
    check(status == 200 and json.loads(body)["object"] == "chat.completion",
          "unknown fields are ignored")
    for payload, expected, what in [
            ("{not json", 400, "malformed JSON"),
            ("[1, 2]", 400, "a body that is not an object"),
            (json.dumps({"messages": []}), 400, "no messages"),
            (json.dumps({"messages": [{"role": "assistant", "content": "x"}]}), 400,
             "an assistant message first"),
            (json.dumps({"messages": [{"role": "user", "content": "x"}], "n": 3}), 400, "n > 1"),
            (json.dumps({"messages": [{"role": "user", "content": "x"}],
                         "tools": [{"type": "function"}]}), 400, "tools"),
            (json.dumps({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
             400, "a temperature that is not a number"),
            (json.dumps({"messages": [{"role": "user", "content": "x"}],
                         "self_extend": {"group": 0, "window": 8}}), 400, "G = 0")]:
        status, body = curl(f"{base}/v1/chat/completions", "-d", payload)
        error = json.loads(body).get("error", {}) if body.startswith("{") else {}
        check(status == expected and error.get("message") and error.get("type"),
              f"{what}: {status} {error.get('message')}")
    status, body = curl(f"{base}/v1/nothing/here")
    check(status == 404 and "error" in json.loads(body), "an unknown route: 404 with an error body")
    big = work / "big.json"
    big.write_text(json.dumps({"messages": [{"role": "user", "content": "x" * (2 << 20)}]}))
    status, body = curl(f"{base}/v1/chat/completions", "--data-binary", f"@{big}")
    check(status == 413, f"a body over --max-body-mb: {status}")

    # Malformed HTTP on a raw socket: the server answers or closes, and keeps serving.
    for garbage in [b"\x00\x01\x02garbage\r\n\r\n", b"POST /v1/chat/completions HTTP/1.1\r\n"
                    b"Content-Length: 999999999999\r\n\r\n{", b"GET / HTTP/9.9\r\nHost\r\n\r\n"]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(garbage)
            try:
                s.recv(1024)
            except OSError:
                pass
    check(curl(f"{base}/health")[0] == 200, "still serving after malformed HTTP")

    # A document uploaded once; Self-Extend answers past the window, vanilla is refused there.
    status, body = curl(f"{base}/v1/documents", "-F", f"file=@{sample}")
    document = json.loads(body)
    check(status == 200 and document["tokens"] > 1400, f"upload: {body}")
    ask = {"document": document["id"], "max_tokens": 16,
           "messages": [{"role": "user", "content": "What is the door code?"}]}
    status, body = curl(f"{base}/v1/chat/completions", "-d", json.dumps(ask))
    reply = json.loads(body)
    check(status == 200 and "4821" in reply["choices"][0]["message"]["content"]
          and reply["self_extend"]["group"] > 1,
          f"Self-Extend (Auto) answers past the window: {reply['choices'][0]['message']['content']!r}"
          f" {reply['self_extend']}")
    status, body = curl(f"{base}/v1/chat/completions", "-d", json.dumps({**ask, "self_extend": "off"}))
    check(status == 400 and json.loads(body)["error"]["code"] == "context_length_exceeded",
          "vanilla past the window is refused (context_length_exceeded)")
    status, body = curl(f"{base}/v1/chat/completions", "-d",
                        json.dumps({**ask, "self_extend": {"group": 6, "window": 256}}))
    check(status == 200 and json.loads(body)["self_extend"]["group"] == 6, "G and W as asked")
    status, body = curl(f"{base}/v1/chat/completions", "-d", json.dumps({**ask, "stream": True}))
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "")
                   for e in events[:-1] if json.loads(e)["choices"])
    check(events[-1] == "[DONE]" and "4821" in text, f"curl streaming: {text!r}")

    # The openai client.
    done = subprocess.run([python, here / "openai_checks.py", f"{base}/v1", sample],
                          capture_output=True, text=True)
    print(done.stdout + done.stderr)
    check(done.returncode == 0, "the openai client's checks")

    # A long document (~20 000 tokens: a prefill of several seconds) for the queue and cancel.
    long_doc = work / "long.txt"
    subprocess.run([cli_bin, "make-document", "-m", model, "--tokens", "20000", "--depth", "0.5",
                    "--out", str(long_doc)], check=True, capture_output=True)
    status, body = curl(f"{base}/v1/documents", "-F", f"file=@{long_doc}")
    long_id = json.loads(body)["id"]
    long_ask = json.dumps({"document": long_id, "stream": True, "max_tokens": 8,
                           "messages": [{"role": "user", "content": "What is the door code?"}]})

    # Cancel on disconnect: the client leaves after 2 s of a prefill that takes longer.
    t0 = time.time()
    subprocess.run(["curl", "-s", "-N", "-m", "2", f"{base}/v1/chat/completions", "-d", long_ask],
                   capture_output=True)
    cancelled = False
    while time.time() - t0 < 30 and not cancelled:
        cancelled = "cancelled (the client went away)" in log_path.read_text()
        time.sleep(0.2)
    check(cancelled and time.time() - t0 < 10,
          f"a client that disconnects cancels its generation ({time.time() - t0:.1f} s)")

    # The queue: one request runs, one waits (--max-queue 1), the next is refused with 429.
    running = subprocess.Popen(["curl", "-s", "-N", "-m", "6", f"{base}/v1/chat/completions",
                                "-d", long_ask], stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    waiting = subprocess.Popen(["curl", "-s", "-N", "-m", "6", f"{base}/v1/chat/completions",
                                "-d", long_ask], stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    status, body = curl(f"{base}/v1/chat/completions", "-d", long_ask)
    check(status == 429 and json.loads(body)["error"]["type"] == "rate_limit_error",
          f"a full queue answers 429: {status}")
    running.wait()
    waiting.wait()
finally:
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        code = None
    log.close()
    check(code == 0, f"SIGTERM stops the server (exit {code})")
    print("--- server log ---\n" + log_path.read_text()[-3000:])

print("FAILED: " + "; ".join(failures) if failures else "all server checks passed")
sys.exit(1 if failures else 0)
