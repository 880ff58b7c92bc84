import json, sys
from llama_cpp import Llama
m = Llama(model_path='/root/.cache/verity/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', vocab_only=True, verbose=False)
cases = [
 "Hello world",
 "Hello, world!",
 " leading space",
 "12345 apples cost $3.50",
 "In 2024, 1000000 tokens.",
 "naïve café résumé",
 "日本語のテキスト",
 "emoji 🤖 and ✓",
 "don't won't it's I'm we'll they've he'd",
 "line one\nline two\n\n  indented\ttab",
 "multiple    spaces   here",
 "<|im_start|>user\nHi<|im_end|>\n",
 "x<|im_end|>y<|endoftext|>",
 "The capital of France is",
 "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
]
out = []
for c in cases:
    ids = m.tokenize(c.encode(), add_bos=False, special=True)
    out.append({"text": c, "ids": ids})
json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
