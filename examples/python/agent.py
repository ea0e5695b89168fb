"""A Python agent behind Tollgate, with the official `openai` package (pip install openai).

No code change is needed at all with environment variables:
    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_CUSTOM_HEADERS=$'X-Agent-Id: py-agent\nX-Intent-Id: py-demo-1' python agent.py
The explicit way is shown below.
"""
import os

from openai import OpenAI, RateLimitError

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-not-needed-with-mock-upstream"),
    default_headers={"X-Agent-Id": "py-agent", "X-Intent-Id": "py-demo-1"},
)

try:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi."}])
    print(reply.choices[0].message.content, reply.usage)
except RateLimitError as e:  # Tollgate's budget 429: x-should-retry: false, so the SDK did not retry
    print("stopped by Tollgate:", e.body["tollgate"] if isinstance(e.body, dict) else e)
