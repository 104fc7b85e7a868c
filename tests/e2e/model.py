"""A scripted OpenAI-compatible chat-completions server for the end-to-end tests.

Usage: model.py CODE_FILE [LANGUAGE [LOG_FILE]]

CODE_FILE holds the code blocks the model answers with, one per turn, separated by a line
`### next block ###`: turn N (the Nth request of the conversation) is answered with the
Nth block as a fenced code block, streamed token by token the way a real model streams
it; every turn after the last block with a short final message. With LOG_FILE, each
request's messages are appended to it as one JSON line (what the model was told).
Prints the port it listens on, then serves.
"""
import http.server
import json
import sys

with open(sys.argv[1]) as script:
    BLOCKS = script.read().split("\n### next block ###\n")
LANGUAGE = sys.argv[2] if len(sys.argv) > 2 else "python"
LOG = sys.argv[3] if len(sys.argv) > 3 else None


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
        if LOG:
            with open(LOG, "a") as log:
                log.write(json.dumps(messages) + "\n")
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        if turn < len(BLOCKS):
            text = f"```{LANGUAGE}\n{BLOCKS[turn].rstrip()}\n```"
        else:
            text = "Done."
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
