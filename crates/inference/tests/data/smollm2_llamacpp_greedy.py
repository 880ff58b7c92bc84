import json, sys
from llama_cpp import Llama
m = Llama(model_path='/root/.cache/verity/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', n_ctx=1024, n_batch=1, n_ubatch=1, n_threads=2, logits_all=True, verbose=False)
tmpl = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
res = []
for p in ["What is the capital of France?", "Write a haiku about the sea.", "List three primary colors."]:
    toks = m.tokenize(tmpl.format(p).encode(), add_bos=False, special=True)
    m.reset()
    m.eval(toks)
    out = []
    for _ in range(32):
        logits = m.scores[m.n_tokens-1]
        t = int(logits.argmax())
        if t in (0, 2): break
        out.append(t)
        m.eval([t])
    res.append({"prompt": p, "prompt_ids": toks, "ids": out, "text": m.detokenize(out).decode(errors='replace')})
json.dump(res, sys.stdout, ensure_ascii=False)
