import os

import openai


def test_capital_of_france(llmtape):
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    with openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "unused-in-replay")) as client:
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        answer = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert answer.strip()
    assert llmtape.calls[0].outcome in ("recorded", "replayed")
