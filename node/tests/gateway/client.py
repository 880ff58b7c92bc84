"""The OpenAI Python client against `verity gateway`, for node/tests/e2e_apps/gateway.rs.

Runs one scenario and prints one JSON object of what it saw; the Rust test checks it against
the chain. Environment: GATEWAY (the base URL, .../v1), KEY (an API key), BAD_KEY.
"""

import concurrent.futures
import json
import os

import openai

client = openai.OpenAI(base_url=os.environ["GATEWAY"], api_key=os.environ["KEY"], max_retries=0, timeout=600)
user = [{"role": "user", "content": "Name a primary colour."}]
seen = {}

seen["models"] = [model.id for model in client.models.list().data]

def chat():
    answer = client.chat.completions.create(model="smollm2", messages=user, max_tokens=12)
    return {
        "id": answer.id,
        "content": answer.choices[0].message.content,
        "role": answer.choices[0].message.role,
        "finish_reason": answer.choices[0].finish_reason,
        "verity": answer.model_extra["verity"],
    }


def stream():
    statuses, text, finish, verity = [], "", None, None
    for chunk in client.chat.completions.create(model="smollm2", messages=user, max_tokens=12, stream=True):
        extra = chunk.model_extra.get("verity") or {}
        choice = chunk.choices[0]
        if choice.delta.content:
            text += choice.delta.content
        if choice.finish_reason is not None:
            finish, verity = choice.finish_reason, extra
        elif "status" in extra and extra["status"] not in statuses:
            statuses.append(extra["status"])
    return {"statuses": statuses, "content": text, "finish_reason": finish, "verity": verity}


def embeddings():
    # The client asks for base64 and decodes it itself.
    answer = client.embeddings.create(model="minilm", input=["a cat", "a kitten"])
    return {
        "dims": [len(item.embedding) for item in answer.data],
        "indices": [item.index for item in answer.data],
        "head": [item.embedding[:4] for item in answer.data],
        "verity": answer.model_extra["verity"],
    }


def final():
    system = {"role": "system", "content": "You are a helpful AI assistant named SmolLM, trained by Hugging Face"}
    answer = client.chat.completions.create(
        model="smollm2", messages=[system] + user, max_tokens=4, extra_body={"verity": {"wait": "final"}}
    )
    return {"content": answer.choices[0].message.content, "finish_reason": answer.choices[0].finish_reason, "verity": answer.model_extra["verity"]}


# At once: one account's jobs in flight together (the gateway gives them consecutive nonces).
with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    running = {name: pool.submit(job) for name, job in [("chat", chat), ("stream", stream), ("embeddings", embeddings), ("final", final)]}
    for name, future in running.items():
        seen[name] = future.result()

refusals = {
    "temperature": lambda: client.chat.completions.create(model="smollm2", messages=user, temperature=0.7),
    "max_tokens": lambda: client.chat.completions.create(model="smollm2", messages=user, max_tokens=100000),
    "unknown_model": lambda: client.chat.completions.create(model="gpt-4o", messages=user),
    "wrong_kind": lambda: client.embeddings.create(model="smollm2", input="a cat"),
    "two_turns": lambda: client.chat.completions.create(
        model="smollm2", messages=user + [{"role": "assistant", "content": "Red."}, {"role": "user", "content": "Another?"}]
    ),
    "long_prompt": lambda: client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "x" * 5000}]),
    "low_fee": lambda: client.chat.completions.create(model="smollm2", messages=user, extra_body={"verity": {"max_fee": "1planck"}}),
    "bad_key": lambda: openai.OpenAI(base_url=os.environ["GATEWAY"], api_key=os.environ["BAD_KEY"], max_retries=0).models.list(),
}
seen["refusals"] = {}
for name, call in refusals.items():
    try:
        call()
        seen["refusals"][name] = "accepted"
    except openai.APIStatusError as error:
        seen["refusals"][name] = {"status": error.status_code, "type": error.type, "code": error.code, "param": error.param, "message": error.message}

print(json.dumps(seen))
