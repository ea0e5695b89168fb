// A Node agent behind Tollgate, with the official `openai` package.
// No code change is needed with environment variables:
//   OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_CUSTOM_HEADERS=$'X-Agent-Id: node-agent' node agent.mjs
// The explicit way:
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL ?? "http://127.0.0.1:8080/v1",
  apiKey: process.env.OPENAI_API_KEY ?? "sk-not-needed-with-mock-upstream",
  defaultHeaders: { "X-Agent-Id": "node-agent", "X-Intent-Id": "node-demo-1" },
});

const reply = await client.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hi." }],
});
console.log(reply.choices[0].message.content, JSON.stringify(reply.usage));

// Streamed without stream_options.include_usage: Tollgate still meters it exactly.
const stream = await client.chat.completions.create({
  model: "gpt-4o-mini",
  stream: true,
  messages: [{ role: "user", content: "Count to five." }],
});
let text = "";
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? "";
}
console.log(text);
