"""A scripted model for Claude Code: the Anthropic Messages API (POST /v1/messages,
streamed as server-sent events) on loopback. Each command of argv[1] (a JSON list) is
one turn: the model asks for it with the Bash tool (an object is the tool's whole input,
a string its `command`); once each tool result has come back, it answers with a message
that quotes the last one. Every tool result is appended to argv[2] as one JSON line.
Prints its port on the first line of stdout, then serves until killed."""
import http.server
import json
import sys

COMMANDS, RESULTS = json.loads(sys.argv[1]), sys.argv[2]
USAGE = {"input_tokens": 1, "output_tokens": 1}


def texts(content):
    """The text blocks of a message's content, a tool result's inner ones included."""
    if isinstance(content, str):
        return [content]
    found = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            found.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            found.extend(texts(block.get("content")))
    return found


def tool_results(messages):
    """The tool results of the conversation, in order, each as one text, with the texts
    of the messages that follow it."""
    found = []
    for at, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        for block in content:
            if block.get("type") != "tool_result":
                continue
            after = [t for m in messages[at:] for t in texts(m.get("content"))]
            found.append({"content": "".join(texts(block.get("content"))),
                          "is_error": block.get("is_error", False),
                          "context": after})
    return found


def reply(body):
    """The content block the model answers `body` with."""
    if not any(t.get("name") == "Bash" for t in body.get("tools", [])):
        # Claude Code's side requests (titles, summaries): a plain answer.
        return {"type": "text", "text": "scripted"}
    results = tool_results(body.get("messages", []))
    if results and len(results) > len(recorded):
        recorded.append(results[-1])
        with open(RESULTS, "a") as f:
            f.write(json.dumps(results[-1]) + "\n")
    if len(results) < len(COMMANDS):
        command = COMMANDS[len(results)]
        tool_input = command if isinstance(command, dict) else {"command": command}
        return {"type": "tool_use", "id": f"toolu_{len(results)}", "name": "Bash",
                "input": tool_input}
    last = results[-1]["content"] if results else ""
    return {"type": "text", "text": "the tool said: " + str(last)}


recorded = []


def events(block):
    """The stream of one message holding `block`."""
    message = {"id": "msg_scripted", "type": "message", "role": "assistant",
               "model": "scripted", "content": [], "stop_reason": None,
               "stop_sequence": None, "usage": USAGE}
    yield "message_start", {"type": "message_start", "message": message}
    if block["type"] == "tool_use":
        start = dict(block, input={})
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        stop_reason = "tool_use"
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
        stop_reason = "end_turn"
    yield "content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": start}
    yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                            "usage": {"output_tokens": 1}}
    yield "message_stop", {"type": "message_stop"}


class Model(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, content_type, data):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(200, "application/json", b"{}")

    def do_HEAD(self):
        self.answer(200, "application/json", b"")

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
            self.answer(200, "application/json", json.dumps({"input_tokens": 1}).encode())
            return
        stream = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n"
                         for name, data in events(reply(body)))
        self.answer(200, "text/event-stream", stream.encode())


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Model)
print(server.server_address[1], flush=True)
server.serve_forever()
