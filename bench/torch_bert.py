"""The PyTorch side of `npm run bench -- bert`: reads {threads, batch, seq,
reps, layers, passes} as JSON on stdin and prints {pass: ms}, each the median
of `reps` timed runs after one warm-up. The model is BERT for sequence
classification written in plain torch as transformers' modeling_bert.py
computes it in eager mode (bert-base config, dropout 0.1): eval mode under
no_grad for inference; train mode with AdamW for a step, every parameter
training, or only the classifier (the encoder frozen) for train_step_head."""
import json
import math
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F


class Embeddings(nn.Module):
    def __init__(self, vocab, hidden, positions, types):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(positions, hidden)
        self.token_type_embeddings = nn.Embedding(types, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids, types):
        pos = torch.arange(ids.shape[1])[None, :]
        e = self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(pos)
        return self.dropout(self.LayerNorm(e))


class Layer(nn.Module):
    def __init__(self, hidden, heads, inner):
        super().__init__()
        self.heads, self.size = heads, hidden // heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attn_dropout = nn.Dropout(0.1)
        self.attn_out, self.attn_norm = nn.Linear(hidden, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.inter, self.out = nn.Linear(hidden, inner), nn.Linear(inner, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def split(self, x):
        return x.view(x.shape[0], x.shape[1], self.heads, self.size).permute(0, 2, 1, 3)

    def forward(self, h, mask):
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.size) + mask
        ctx = torch.matmul(self.attn_dropout(F.softmax(scores, dim=-1)), v).permute(0, 2, 1, 3).contiguous()
        a = self.attn_norm(self.dropout(self.attn_out(ctx.view(h.shape))) + h)
        return self.out_norm(self.dropout(self.out(F.gelu(self.inter(a)))) + a)


class BertForSequenceClassification(nn.Module):
    def __init__(self, layers, labels=2, vocab=30522, hidden=768, heads=12, inner=3072):
        super().__init__()
        self.embeddings = Embeddings(vocab, hidden, 512, 2)
        self.layer = nn.ModuleList([Layer(hidden, heads, inner) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(hidden, labels)

    def forward(self, ids, mask, types):
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.embeddings(ids, types)
        for layer in self.layer:
            h = layer(h, ext)
        return self.classifier(self.dropout(torch.tanh(self.pooler(h[:, 0]))))


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1000


def main():
    cfg = json.load(sys.stdin)
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg["layers"])
    ids = torch.randint(1000, 30000, (cfg["batch"], cfg["seq"]))
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    labels = torch.randint(0, 2, (cfg["batch"],))
    out = {}

    def infer():
        with torch.no_grad():
            model(ids, mask, types)

    def train_step(params):
        opt = torch.optim.AdamW(params, lr=2e-5)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(ids, mask, types), labels).backward()
            opt.step()

        return step

    for p in cfg["passes"]:
        if p == "inference":
            model.eval()
            out[p] = median_ms(infer, cfg["reps"])
        elif p == "train_step":
            model.train()
            for q in model.parameters():
                q.requires_grad_(True)
            out[p] = median_ms(train_step(list(model.parameters())), cfg["reps"])
        elif p == "train_step_head":
            model.train()
            for n, q in model.named_parameters():
                q.requires_grad_(n.startswith("classifier."))
            out[p] = median_ms(train_step(list(model.classifier.parameters())), cfg["reps"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
