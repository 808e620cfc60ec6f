"""Assemble expected values from an OpenAI-compatible chat-completions SSE body.

Rules (documented in README.md):
* SSE: events separated by a blank line; `data:` lines of one event joined with "\n";
  lines starting with ':' and other fields ignored; `data: [DONE]` ends the stream.
* Only choice index 0 is assembled (every vector has a single choice).
* content / refusal: null until the first string delta; afterwards string deltas are
  concatenated (so a stream whose only content delta is "" yields "", not null).
* reasoning: same, over delta.reasoning_content and delta.reasoning.
* tool_calls: merged by `index`; id / type / function.name taken from the first fragment
  where the key is present with a non-null, non-empty value; arguments = concatenation of
  every non-null arguments fragment. Output sorted by index. type defaults to "function"
  if never sent.
* function_call (legacy): name = first non-empty, arguments concatenated.
* finish_reason: last non-null finish_reason of choice 0.
* usage: the last non-null top-level `usage` object, verbatim.
* logprobs_content_count: sum of len(choices[0].logprobs.content) over chunks.
* model: first non-empty `model`; system_fingerprint: first non-empty, else "" if only "" seen, else null.
"""
import json, sys

def parse_sse(body):
    events, data, = [], []
    for line in body.split("\n"):
        if line.endswith("\r"): line=line[:-1]
        if line=="":
            if data: events.append("\n".join(data)); data=[]
            continue
        if line.startswith(":"): continue
        field, _, value = line.partition(":")
        if value.startswith(" "): value=value[1:]
        if field=="data": data.append(value)
    if data: events.append("\n".join(data))
    return events

def assemble(body):
    events=parse_sse(body)
    content=refusal=reasoning=None
    tcs={}; fc=None; finish=None; usage=None; lp=0; model=None; fp=None; fp_empty=False; done=False
    def cat(acc, v):
        if isinstance(v,str): return (acc or "")+v
        return acc
    for ev in events:
        if ev=="[DONE]": done=True; break
        ch=json.loads(ev)
        if ch.get("model") and model is None: model=ch["model"]
        sf=ch.get("system_fingerprint")
        if sf: fp = fp or sf
        elif sf=="": fp_empty=True
        if ch.get("usage") is not None: usage=ch["usage"]
        for c in ch.get("choices") or []:
            assert c.get("index",0)==0, "multi-choice not expected"
            if c.get("finish_reason") is not None: finish=c["finish_reason"]
            l=c.get("logprobs")
            if isinstance(l,dict) and isinstance(l.get("content"),list): lp+=len(l["content"])
            d=c.get("delta") or {}
            content=cat(content,d.get("content"))
            refusal=cat(refusal,d.get("refusal"))
            reasoning=cat(reasoning,d.get("reasoning_content"))
            reasoning=cat(reasoning,d.get("reasoning"))
            if d.get("function_call"):
                f=d["function_call"]
                if fc is None: fc={"name":None,"arguments":""}
                if f.get("name") and not fc["name"]: fc["name"]=f["name"]
                if isinstance(f.get("arguments"),str): fc["arguments"]+=f["arguments"]
            for t in d.get("tool_calls") or []:
                i=t["index"]
                acc=tcs.setdefault(i,{"id":None,"type":None,"function":{"name":None,"arguments":""}})
                if t.get("id") and not acc["id"]: acc["id"]=t["id"]
                if t.get("type") and not acc["type"]: acc["type"]=t["type"]
                f=t.get("function") or {}
                if f.get("name") and not acc["function"]["name"]: acc["function"]["name"]=f["name"]
                if isinstance(f.get("arguments"),str): acc["function"]["arguments"]+=f["arguments"]
    tool_calls=None
    if tcs:
        tool_calls=[]
        for i in sorted(tcs):
            a=tcs[i]; a["type"]=a["type"] or "function"; tool_calls.append(a)
    if fp is None and fp_empty: fp=""
    return {"content":content,"reasoning":reasoning,"refusal":refusal,"tool_calls":tool_calls,
            "function_call":fc,"finish_reason":finish,"usage":usage,"logprobs_content_count":lp,
            "model":model,"system_fingerprint":fp}, done, len(events)

if __name__ == "__main__":
    # Regenerate every <name>.expected.json next to this script from <name>.sse,
    # keeping the hand-written "source" field. With --check, only compare.
    import glob, os
    here = os.path.dirname(os.path.abspath(__file__))
    check = "--check" in sys.argv
    bad = 0
    for sse in sorted(glob.glob(os.path.join(here, "*.sse"))):
        exp_path = sse[:-4] + ".expected.json"
        old = json.load(open(exp_path, encoding="utf-8")) if os.path.exists(exp_path) else {}
        protocol = old.get("protocol", "openai")
        text = open(sse, encoding="utf-8").read()
        if protocol == "openai-responses":
            import assemble_responses_expected
            r = assemble_responses_expected.assemble(text)
        elif protocol != "openai":
            continue  # another protocol's events (e.g. anthropic_*): expected files written by hand
        else:
            r, _, _ = assemble(text)
        new = {"source": old.get("source")}
        new.update(r)
        if check:
            same = new == old
            bad += not same
            print(("OK   " if same else "DIFF ") + os.path.basename(sse))
        else:
            open(exp_path, "w", encoding="utf-8").write(json.dumps(new, ensure_ascii=False, indent=2) + "\n")
    sys.exit(1 if bad else 0)
