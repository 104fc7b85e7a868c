"""A scripted OpenAI-compatible chat-completions server for the end-to-end tests.

The first turn of a conversation is answered with a fenced code block (the file given
on the command line), streamed token by token the way a real model streams it; every
later turn with a short final message. Prints the port it listens on, then serves.
"""
import http.server
import json
import sys

CODE = open(sys.argv[1]).read()
LANGUAGE = sys.argv[2] if len(sys.argv) > 2 else "python"


def tokens(text):
    """The reply as a model streams it: the fence, the language, then the code in pieces."""
    if not text.startswith("```"):
        return [text]
    body = text[3:]
    head, _, rest = body.partition("\n")
    pieces = ["```", head, "\n"]
    for line in rest.splitlines(keepends=True):
        pieces.extend([line[: len(line) // 2], line[len(line) // 2 :]])
    return [p for p in pieces if p]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length) or b"{}")
        messages = request.get("messages", [])
        answered = any(m.get("role") == "assistant" for m in messages)
        text = "Done." if answered else f"```{LANGUAGE}\n{CODE.rstrip()}\n```"
        if request.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in tokens(text):
                self.event({"content": piece}, None)
            self.event({}, "stop")
            self.wfile.write(b"data: [DONE]\n\n")
        else:
            reply = {
                "id": "scripted",
                "object": "chat.completion",
                "created": 0,
                "model": "scripted",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def event(self, delta, finish):
        chunk = {
            "id": "scripted",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "scripted",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.flush()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
