"""The server seen by the official openai Python client (run by test_server.py in its venv).

usage: openai_checks.py BASE_URL SAMPLE_DOCUMENT
"""

import json
import sys
import urllib.request

import openai

base_url, sample = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key="unused-on-loopback")


def check(condition, message):
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {message}")


models = client.models.list()
check(len(models.data) == 1 and models.data[0].id == "selfextend-demo-8m-f16", "models.list")

# Non-streaming, a plain chat (the question holds its own fact, well inside L = 512).
reply = client.chat.completions.create(
    model=models.data[0].id, max_tokens=12, temperature=0,
    messages=[{"role": "user", "content": "Remember this: the door code is 4821. What is the door code?"}])
check(reply.choices[0].message.role == "assistant", "a message from the assistant")
check("4821" in reply.choices[0].message.content, f"the answer states 4821: {reply.choices[0].message.content!r}")
check(reply.usage.prompt_tokens > 10 and reply.usage.completion_tokens >= 1, "usage")
check(reply.choices[0].finish_reason in ("stop", "length"), "finish_reason")

# Streaming: deltas that add up to an answer, a finish reason, the usage chunk when asked.
stream = client.chat.completions.create(
    model=models.data[0].id, max_tokens=12, temperature=0, stream=True,
    stream_options={"include_usage": True},
    messages=[{"role": "user", "content": "Remember this: the door code is 4821. What is the door code?"}])
pieces, finish, usage = [], None, None
for event in stream:
    if event.choices:
        pieces.append(event.choices[0].delta.content or "")
        finish = event.choices[0].finish_reason or finish
    if event.usage:
        usage = event.usage
text = "".join(pieces)
check(text == reply.choices[0].message.content, f"the streamed text is the same greedy answer: {text!r}")
check(finish in ("stop", "length") and usage and usage.completion_tokens >= 1, "streamed finish and usage")

# The uploaded document (JSON upload, a text the server has not read yet): Self-Extend (Auto)
# answers past the 512-token window; a second question reuses the document's KV (its prompt
# tokens are cached, its prefill far shorter).
with open(sample, encoding="utf-8") as f:
    text = f.read() + "\nThe end.\n"
upload = urllib.request.Request(f"{base_url}/documents", method="POST",
                                data=json.dumps({"text": text, "name": "sample.txt"}).encode(),
                                headers={"Content-Type": "application/json"})
with urllib.request.urlopen(upload) as response:
    document_id = json.load(response)["id"]
first = client.chat.completions.create(
    model=models.data[0].id, max_tokens=16, temperature=0, extra_body={"document": document_id},
    messages=[{"role": "user", "content": "What is the door code?"}])
se = first.model_extra["self_extend"]
check(se["group"] > 1 and se["document_tokens"] > 1400 and se["reused_tokens"] == 0,
      f"Self-Extend answered, reading the document: {se}")
check("4821" in first.choices[0].message.content, f"past the window: {first.choices[0].message.content!r}")
second = client.chat.completions.create(
    model=models.data[0].id, max_tokens=16, temperature=0, extra_body={"document": document_id},
    messages=[{"role": "user", "content": "What is the door code?"},
              {"role": "assistant", "content": first.choices[0].message.content},
              {"role": "user", "content": "Say the door code again."}])
cached = second.usage.prompt_tokens_details.cached_tokens
se2 = second.model_extra["self_extend"]
check(cached >= 1500, f"the follow-up reused {cached} of {second.usage.prompt_tokens} prompt tokens")
check(se2["prefill_seconds"] < se["prefill_seconds"] / 3,
      f"its prefill took {se2['prefill_seconds']:.3f} s, the first {se['prefill_seconds']:.3f} s")

# Refusals the client raises as errors.
for kwargs, what in [({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
                     ({"n": 2}, "n > 1")]:
    try:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], **kwargs)
        check(False, f"{what} refused")
    except openai.BadRequestError as e:
        check(e.status_code == 400 and "not supported" in str(e), f"{what} refused: {e}")
try:
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                   extra_body={"document": "doc-0000000000000000"})
    check(False, "an unknown document refused")
except openai.NotFoundError as e:
    check(e.status_code == 404, "an unknown document: 404")
print("openai client: all checks passed")
