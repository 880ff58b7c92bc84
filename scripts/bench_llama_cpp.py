"""llama.cpp side of scripts/bench-inference.sh: the same GGUF, the same templated prompt, the same
greedy decode of a fixed number of tokens, on the same number of threads. Prints one JSON object."""
import json
import statistics
import sys
import time

import numpy as np
from llama_cpp import Llama

gguf, prompt_file, threads, repetitions, decode_tokens = sys.argv[1:6]
threads, repetitions, decode_tokens = int(threads), int(repetitions), int(decode_tokens)
TEMPLATE = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
            "<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n")
prompt = open(prompt_file, encoding="utf-8").read().rstrip()
model = Llama(model_path=gguf, n_ctx=2048, n_batch=512, n_threads=threads, n_threads_batch=threads,
              logits_all=False, verbose=False)
tokens = model.tokenize(TEMPLATE.format(prompt).encode(), add_bos=False, special=True)
prefill, decode = [], []
for _ in range(repetitions):
    model.reset()
    start = time.perf_counter()
    model.eval(tokens)
    prefill.append(len(tokens) / (time.perf_counter() - start))
    start = time.perf_counter()
    for _ in range(decode_tokens - 1):
        # Greedy, as ours: the logits of the last evaluated token (the only output row).
        logits = np.ctypeslib.as_array(model._ctx.get_logits(), shape=(model.n_vocab(),))
        next_token = int(logits.argmax())
        model.eval([next_token])
    decode.append((decode_tokens - 1) / (time.perf_counter() - start))
print(json.dumps({
    "prompt_tokens": len(tokens),
    "llama_cpp_prefill_tok_s": round(statistics.median(prefill), 1),
    "llama_cpp_decode_tok_s": round(statistics.median(decode), 1),
}))
