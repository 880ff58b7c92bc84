# Float64 numpy reference of all-MiniLM-L6-v2 (BERT + mean pooling + L2), independent of candle.
import json, math, numpy as np
from tokenizers import Tokenizer
from safetensors.numpy import load_file
D='/root/.cache/verity/models/minilm/'
w = {k: v.astype(np.float64) for k, v in load_file(D+'model.safetensors').items()}
cfg = json.load(open(D+'config.json'))
tok = Tokenizer.from_file(D+'tokenizer.json'); tok.no_padding(); tok.no_truncation()
def ln(x, p): 
    mu = x.mean(-1, keepdims=True); var = ((x-mu)**2).mean(-1, keepdims=True)
    return (x-mu)/np.sqrt(var+cfg['layer_norm_eps'])*w[p+'.weight']+w[p+'.bias']
def lin(x, p): return x@w[p+'.weight'].T+w[p+'.bias']
erf = np.vectorize(math.erf)
def embed(text):
    ids = tok.encode(text).ids; n=len(ids)
    x = w['embeddings.word_embeddings.weight'][ids]+w['embeddings.position_embeddings.weight'][:n]+w['embeddings.token_type_embeddings.weight'][0]
    x = ln(x,'embeddings.LayerNorm'); H=cfg['num_attention_heads']; hd=x.shape[1]//H
    for i in range(cfg['num_hidden_layers']):
        p=f'encoder.layer.{i}.'
        q=lin(x,p+'attention.self.query').reshape(n,H,hd).transpose(1,0,2)
        k=lin(x,p+'attention.self.key').reshape(n,H,hd).transpose(1,0,2)
        v=lin(x,p+'attention.self.value').reshape(n,H,hd).transpose(1,0,2)
        a=q@k.transpose(0,2,1)/math.sqrt(hd); a=np.exp(a-a.max(-1,keepdims=True)); a/=a.sum(-1,keepdims=True)
        c=(a@v).transpose(1,0,2).reshape(n,-1)
        x=ln(lin(c,p+'attention.output.dense')+x,p+'attention.output.LayerNorm')
        h=lin(x,p+'intermediate.dense'); h=0.5*h*(1+erf(h/math.sqrt(2)))
        x=ln(lin(h,p+'output.dense')+x,p+'output.LayerNorm')
    m=x.mean(0); return m/np.linalg.norm(m)
texts=["A man is playing a guitar.","The stock market fell sharply today.",
 # A one-word text, numbers and punctuation, accents and CJK, and a text near the 256-token cap.
 "Hello", "In 2024, 3.5% of 1,000 users (i.e. 35) said: \"no!\"",
 "Crème brûlée in a café; 北京 and 東京 are capitals.",
 " ".join(["The committee reviewed every proposal carefully before the vote, and the results were published the next morning."] * 10)]
out={"source":"float64 numpy re-implementation of BertModel + mean pooling + L2 over the same model.safetensors/tokenizer.json (tools: numpy, safetensors, tokenizers from PyPI); see the crate README","texts":texts,"embeddings":[[float(v) for v in embed(t)] for t in texts]}
import os
json.dump(out, open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'minilm_reference.json'), 'w'))
print([e[:4] for e in out["embeddings"]])
