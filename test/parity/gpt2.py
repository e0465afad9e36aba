"""GPT-2 parity for tg.models.gpt2 (test/parity-gpt2.test.mjs): a plain-torch
GPT-2 written from transformers' models/gpt2/modeling_gpt2.py (Conv1D as
x @ W + b with W stored (in, out), gelu_new, attention scaled by
1/sqrt(head_dim) with the causal mask and the additive attention mask,
pre-LayerNorm blocks, ln_f, lm_head tied to wte) at gpt2-124M widths (768
wide, 12 heads, 3072 inner, 1024 positions) with 2 layers and a 1000-token
vocabulary, weights from the shared hash generator in transformers' key
layout. Writes fixtures/gpt2.json with:
  - the hidden states (output_hidden_states) and logits of a 2x8 batch;
  - the LM loss (labels = input_ids, some -100) and, after one step with
    transformer.h.0 and wpe frozen, statistics of every trainable gradient;
  - 20 greedy tokens for two prompts, each alone, and the last-position
    logits of the two as a left-padded batch (HF's generation inputs:
    position_ids = cumsum(mask) - 1, masked to 1);
  - the logits of a small GPT-2 that it also saves as transformers' older
    releases did (fixtures/gpt2-tiny: config.json and a torch.save'd
    pytorch_model.bin without the transformer. prefix, with the attn.bias
    and attn.masked_bias buffers, without lm_head), for test/gpt2.test.mjs.
Everything also in float64, so the test can hold us to torch's own float32
error where that is the larger. Run with Debian's python3 (torch 1.13)."""
import base64
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(2)

M32 = 0xFFFFFFFF
HERE = os.path.dirname(__file__)
CONFIG = {
    'vocab_size': 1000, 'n_positions': 1024, 'n_embd': 768, 'n_layer': 2, 'n_head': 12, 'n_inner': None,
    'activation_function': 'gelu_new', 'resid_pdrop': 0.0, 'embd_pdrop': 0.0, 'attn_pdrop': 0.0,
    'layer_norm_epsilon': 1e-5, 'model_type': 'gpt2',
}
TINY = dict(CONFIG, vocab_size=40, n_positions=16, n_embd=16, n_head=2, architectures=['GPT2LMHeadModel'],
            bos_token_id=39, eos_token_id=39)


def gen(n, seed, scale, offset=0.0):
    """vision.py's generator: a 32-bit hash of (index, seed) in [-1, 1) in
    steps of 2^-23, scaled in double, rounded once to float32."""
    h = (torch.arange(n, dtype=torch.int64) * 0x9E3779B1 + seed * 0x632BE5AB) & M32
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & M32
    h = h ^ (h >> 16)
    v = (h >> 8).double() / 8388608.0 - 1.0
    return (v * scale + offset).float()


def b64(t):
    return base64.b64encode(t.detach().float().contiguous().numpy().tobytes()).decode()


def recipe_of(cfg, first_seed, embed_scale):
    """transformers' GPT2LMHeadModel.named_parameters() (lm_head.weight is wte),
    each with its generator seed, scale and offset."""
    V, P, E = cfg['vocab_size'], cfg['n_positions'], cfg['n_embd']
    inner = 4 * E
    shapes = [('transformer.wte.weight', [V, E], embed_scale, 0.0), ('transformer.wpe.weight', [P, E], 0.1, 0.0)]
    for i in range(cfg['n_layer']):
        p = f'transformer.h.{i}.'
        shapes += [
            (p + 'ln_1.weight', [E], 0.2, 1.0), (p + 'ln_1.bias', [E], 0.1, 0.0),
            (p + 'attn.c_attn.weight', [E, 3 * E], 0.1, 0.0), (p + 'attn.c_attn.bias', [3 * E], 0.05, 0.0),
            (p + 'attn.c_proj.weight', [E, E], 0.06, 0.0), (p + 'attn.c_proj.bias', [E], 0.02, 0.0),
            (p + 'ln_2.weight', [E], 0.2, 1.0), (p + 'ln_2.bias', [E], 0.1, 0.0),
            (p + 'mlp.c_fc.weight', [E, inner], 0.08, 0.0), (p + 'mlp.c_fc.bias', [inner], 0.05, 0.0),
            (p + 'mlp.c_proj.weight', [inner, E], 0.04, 0.0), (p + 'mlp.c_proj.bias', [E], 0.02, 0.0),
        ]
    shapes += [('transformer.ln_f.weight', [E], 0.2, 1.0), ('transformer.ln_f.bias', [E], 0.1, 0.0)]
    return [(name, shape, first_seed + i, scale, offset) for i, (name, shape, scale, offset) in enumerate(shapes)]


def weights(recipe):
    return {name: gen(math.prod(shape), seed, scale, offset).view(shape) for name, shape, seed, scale, offset in recipe}


# ---- the model, as modeling_gpt2.py computes it ----

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def conv1d(x, w, b):
    size_out = x.size()[:-1] + (w.size(-1),)
    return torch.addmm(b, x.view(-1, x.size(-1)), w).view(size_out)


def attention(sd, cfg, p, x, mask_add):
    B, T, E = x.shape
    H = cfg['n_head']
    q, k, v = conv1d(x, sd[p + 'c_attn.weight'], sd[p + 'c_attn.bias']).split(E, dim=2)
    q, k, v = (t.view(B, T, H, E // H).permute(0, 2, 1, 3) for t in (q, k, v))
    w = torch.matmul(q, k.transpose(-1, -2))
    w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T)
    w = torch.where(causal, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
    if mask_add is not None:
        w = w + mask_add
    w = F.softmax(w, dim=-1)
    out = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous().view(B, T, E)
    return conv1d(out, sd[p + 'c_proj.weight'], sd[p + 'c_proj.bias'])


def forward(sd, cfg, ids, attention_mask=None, position_ids=None):
    """(hidden_states as output_hidden_states returns them, logits)."""
    B, T = ids.shape
    E, eps = cfg['n_embd'], cfg['layer_norm_epsilon']
    if position_ids is None:
        position_ids = torch.arange(T).unsqueeze(0).expand(B, T)
    h = sd['transformer.wte.weight'][ids] + sd['transformer.wpe.weight'][position_ids]
    mask_add = None
    if attention_mask is not None:
        m = attention_mask.view(B, 1, 1, T).to(h.dtype)
        mask_add = (1.0 - m) * torch.finfo(h.dtype).min
    states = []
    for i in range(cfg['n_layer']):
        states.append(h)
        p = f'transformer.h.{i}.'
        a = attention(sd, cfg, p + 'attn.', F.layer_norm(h, (E,), sd[p + 'ln_1.weight'], sd[p + 'ln_1.bias'], eps), mask_add)
        h = a + h
        m = F.layer_norm(h, (E,), sd[p + 'ln_2.weight'], sd[p + 'ln_2.bias'], eps)
        m = gelu_new(conv1d(m, sd[p + 'mlp.c_fc.weight'], sd[p + 'mlp.c_fc.bias']))
        h = h + conv1d(m, sd[p + 'mlp.c_proj.weight'], sd[p + 'mlp.c_proj.bias'])
    h = F.layer_norm(h, (E,), sd['transformer.ln_f.weight'], sd['transformer.ln_f.bias'], eps)
    states.append(h)
    return states, torch.matmul(h, sd['transformer.wte.weight'].t())


def lm_loss(logits, labels):
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = labels[..., 1:].contiguous()
    return F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1), ignore_index=-100)


def grad_stats(g, probe_seed=4242):
    g = g.detach().double().flatten()
    probe = gen(g.numel(), probe_seed, 1.0).double()
    return {
        'sum': g.sum().item(), 'l1': g.abs().sum().item(), 'sumsq': (g * g).sum().item(),
        'dot': (g * probe).sum().item(), 'maxabs': g.abs().max().item(), 'head': g[:8].tolist(),
    }


TRAINABLE = ['transformer.wte.', 'transformer.h.1.', 'transformer.ln_f.']


def train_step(sd, ids, labels):
    params = {k: v.clone().requires_grad_(any(k.startswith(t) for t in TRAINABLE)) for k, v in sd.items()}
    _, logits = forward(params, CONFIG, ids)
    loss = lm_loss(logits, labels)
    loss.backward()
    return loss.item(), {k: grad_stats(p.grad) for k, p in params.items() if p.requires_grad}


def greedy(sd, prompt, n):
    """Tokens and, per step, the gap between the two largest logits."""
    seq, tokens, gaps = list(prompt), [], []
    with torch.no_grad():
        for _ in range(n):
            _, logits = forward(sd, CONFIG, torch.tensor([seq]))
            top = torch.topk(logits[0, -1].double(), 2).values
            token = int(torch.argmax(logits[0, -1]))
            gaps.append((top[0] - top[1]).item())
            tokens.append(token)
            seq.append(token)
    return tokens, gaps


def padded(sd, prompts, pad_id):
    """Last-position logits of a left-padded batch, as generate() feeds it."""
    T = max(len(p) for p in prompts)
    ids = torch.tensor([[pad_id] * (T - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (T - len(p)) + [1] * len(p) for p in prompts])
    pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    with torch.no_grad():
        _, logits = forward(sd, CONFIG, ids, attention_mask=mask, position_ids=pos)
    return logits[:, -1]


def ids_of(n, seed, vocab):
    h = gen(n, seed, 1.0).double()
    return ((h + 1.0) / 2.0 * vocab).long().clamp(0, vocab - 1)


def tiny_folder():
    """Saves the small GPT-2 as transformers' older releases did and returns
    the logits of a (1, 5) input."""
    sd = weights(recipe_of(TINY, 900, 0.5))
    state = {}
    for k, v in sd.items():
        name = k[len('transformer.'):]
        state[name] = v
        if name.endswith('ln_1.weight'):
            block = name[:-len('ln_1.weight')]
            n = TINY['n_positions']
            state[block + 'attn.bias'] = torch.tril(torch.ones(n, n, dtype=torch.uint8)).view(1, 1, n, n)
            state[block + 'attn.masked_bias'] = torch.tensor(-1e4)
    folder = os.path.join(HERE, 'fixtures', 'gpt2-tiny')
    os.makedirs(folder, exist_ok=True)
    torch.save(state, os.path.join(folder, 'pytorch_model.bin'))
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump(TINY, f, indent=2)
    ids = torch.tensor([[3, 17, 39, 0, 25]])
    with torch.no_grad():
        _, logits = forward(sd, TINY, ids)
    return {'input_ids': ids.tolist(), 'logits': logits.flatten().tolist()}


def output(t, t64):
    return {'shape': list(t.shape), 'data': b64(t), 'err64': (t.double() - t64).abs().max().item(),
            'maxabs': t64.abs().max().item()}


recipe = recipe_of(CONFIG, 1, 0.15)
sd = weights(recipe)
sd64 = {k: v.double() for k, v in sd.items()}
V = CONFIG['vocab_size']
ids = ids_of(2 * 8, 501, V).view(2, 8)
labels = ids.clone()
labels[1, :3] = -100

with torch.no_grad():
    states, logits = forward(sd, CONFIG, ids)
    states64, logits64 = forward(sd64, CONFIG, ids)
loss, grads = train_step(sd, ids, labels)
loss64, grads64 = train_step(sd64, ids, labels)

prompts = [ids_of(8, 601, V).tolist(), ids_of(5, 602, V).tolist()]
N_NEW = 20
gen_cases = []
for p in prompts:
    tokens, gaps = greedy(sd, p, N_NEW)
    tokens64, _ = greedy(sd64, p, N_NEW)
    assert tokens == tokens64, 'float32 and float64 greedy tokens differ: pick other weights'
    gen_cases.append({'prompt': p, 'tokens': tokens, 'min_gap': min(gaps)})
PAD = 0
batch_logits = padded(sd, prompts, PAD)
with torch.no_grad():
    alone_logits = torch.stack([forward(sd, CONFIG, torch.tensor([p]))[1][0, -1] for p in prompts])

out = {
    'torch': torch.__version__,
    'config': CONFIG,
    'recipe': [[name, seed, scale, offset] for name, _, seed, scale, offset in recipe],
    'input_ids': ids.tolist(),
    'labels': labels.tolist(),
    'hidden_states': [output(s, s64) for s, s64 in zip(states, states64)],
    'logits': output(logits, logits64),
    'loss': loss,
    'loss64': loss64,
    'trainable': TRAINABLE,
    'grads': grads,
    'grads64': grads64,
    'generation': {'max_new_tokens': N_NEW, 'cases': gen_cases, 'pad_token_id': PAD,
                   'padded_last_logits': b64(batch_logits),
                   'padded_vs_alone': (batch_logits - alone_logits).abs().max().item()},
    'tiny': tiny_folder(),
}
path = os.path.join(HERE, 'fixtures', 'gpt2.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(path, os.path.getsize(path), 'bytes; loss', loss, 'min greedy gaps', [c['min_gap'] for c in gen_cases])
