// The no-code way: the official `openai` package reads OPENAI_BASE_URL, OPENAI_API_KEY and
// OPENAI_CUSTOM_HEADERS (one "Name: value" per line) from the environment, so an agent needs no change:
//   export OPENAI_BASE_URL=http://127.0.0.1:8080/v1
//   export OPENAI_CUSTOM_HEADERS=$'X-Agent-Id: research-agent\nX-Intent-Id: ticket-4711'
//   node no-code-agent.mjs
import OpenAI from "openai";

const client = new OpenAI();
const reply = await client.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hi." }],
});
console.log(reply.choices[0].message.content, JSON.stringify(reply.usage));
