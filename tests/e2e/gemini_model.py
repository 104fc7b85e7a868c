"""A scripted model for Gemini CLI: the Gemini API (POST
/v1beta/models/MODEL:streamGenerateContent?alt=sse, server-sent events) on loopback.
argv[1] is one command, or a JSON list of commands, one per turn, each asked for with
Gemini CLI's shell tool (run_shell_command; an object is its whole arguments); once every command's response has come back,
the model answers with a message that quotes the last. Each tool response (its `output`)
is appended to argv[2] as a JSON line. Other calls (generateContent, countTokens) get a
plain answer. Prints its port on the first line of stdout, then serves until killed."""
import http.server
import json
import sys

COMMANDS = json.loads(sys.argv[1]) if sys.argv[1].startswith("[") else [sys.argv[1]]
OUTPUTS = sys.argv[2]
USAGE = {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}


def responses(body):
    """The function responses of the conversation, in order, each as one text (its
    `output`)."""
    found = []
    for content in body.get("contents", []):
        for part in content.get("parts", []):
            response = part.get("functionResponse")
            if response:
                result = response.get("response", {})
                found.append(result.get("output", json.dumps(result)))
    return found


class Model(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded = 0

    def log_message(self, *_):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        done = responses(body)
        if len(done) > Model.recorded:
            Model.recorded = len(done)
            with open(OUTPUTS, "a") as f:
                f.write(json.dumps(done[-1]) + "\n")
        streamed = "streamGenerateContent" in self.path
        if streamed and len(done) < len(COMMANDS):
            command = COMMANDS[len(done)]
            args = command if isinstance(command, dict) else {"command": command}
            call = {"name": "run_shell_command", "args": args}
            parts = [{"functionCall": call}]
        else:
            parts = [{"text": "the tool said: " + (done[-1] if done else "nothing")}]
        answer = {"candidates": [{"content": {"role": "model", "parts": parts},
                                  "finishReason": "STOP", "index": 0}],
                  "usageMetadata": USAGE}
        if streamed:
            data, kind = f"data: {json.dumps(answer)}\r\n\r\n".encode(), "text/event-stream"
        else:
            data, kind = json.dumps(answer).encode(), "application/json"
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Model)
print(server.server_address[1], flush=True)
server.serve_forever()
