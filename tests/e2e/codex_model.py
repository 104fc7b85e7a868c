"""A scripted model for Codex CLI: the Responses API (POST /v1/responses, server-sent
events) on loopback. The first turn calls Codex's shell tool (exec_command, or the older
shell and shell_command) with the command in argv[1]; every later turn answers with a
message that quotes what the tool returned. Each tool output is appended to argv[2].
Prints its port on the first line of stdout, then serves until killed."""
import http.server
import json
import sys

COMMAND, OUTPUTS = sys.argv[1], sys.argv[2]
USAGE = {"input_tokens": 0, "input_tokens_details": None, "output_tokens": 0,
         "output_tokens_details": None, "total_tokens": 0}


def tool_call(tools):
    if "exec_command" in tools:
        name, arguments = "exec_command", {"cmd": COMMAND}
    elif "shell_command" in tools:
        name, arguments = "shell_command", {"command": COMMAND}
    else:
        name, arguments = "shell", {"command": ["bash", "-lc", COMMAND]}
    return {"type": "function_call", "call_id": "call-1", "name": name,
            "arguments": json.dumps(arguments)}


class Model(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        inputs = body.get("input", [])
        outputs = [i.get("output") for i in inputs if i.get("type") == "function_call_output"]
        if outputs:
            with open(OUTPUTS, "a") as f:
                f.write(json.dumps(outputs[-1]) + "\n")
            item = {"type": "message", "role": "assistant", "id": "message-1",
                    "content": [{"type": "output_text", "text": "the tool said: " + str(outputs[-1])}]}
        else:
            item = tool_call([t.get("name") for t in body.get("tools", [])])
        events = [{"type": "response.created", "response": {"id": "response"}},
                  {"type": "response.output_item.done", "item": item},
                  {"type": "response.completed", "response": {"id": "response", "usage": USAGE}}]
        payload = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
        data = payload.encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Model)
print(server.server_address[1], flush=True)
server.serve_forever()
