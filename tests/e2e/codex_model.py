"""A scripted model for Codex CLI: the Responses API (POST /v1/responses, server-sent
events) on loopback. argv[1] is one command, or a JSON list of calls, one per turn: a
string is a command for Codex's shell tool (exec_command, or the older shell and
shell_command), an object exec_command's whole arguments, and {"poll": MS} a
write_stdin that waits MS for more of the last command Codex left running. Once every
call's output has come back, the model answers with a message that quotes the last.
Each tool output is appended to argv[2] as a JSON line. Prints its port on the first line
of stdout, then serves until killed."""
import http.server
import json
import re
import sys

CALLS = json.loads(sys.argv[1]) if sys.argv[1].startswith("[") else [sys.argv[1]]
OUTPUTS = sys.argv[2]
USAGE = {"input_tokens": 0, "input_tokens_details": None, "output_tokens": 0,
         "output_tokens_details": None, "total_tokens": 0}


def text(output):
    """A tool output as one text (Codex sends a string, or a list of content items)."""
    if isinstance(output, list):
        return "".join(i.get("text", "") for i in output if isinstance(i, dict))
    return str(output)


def tool_call(tools, call, outputs):
    """The function call for `call`, the outputs so far telling a poll which session."""
    if isinstance(call, dict) and "poll" in call:
        sessions = re.findall(r"session ID (\d+)", "".join(text(o) for o in outputs))
        name, arguments = "write_stdin", {"session_id": int(sessions[-1]), "chars": "",
                                          "yield_time_ms": call["poll"]}
    elif isinstance(call, dict):
        name, arguments = "exec_command", call
    elif "exec_command" in tools:
        name, arguments = "exec_command", {"cmd": call}
    elif "shell_command" in tools:
        name, arguments = "shell_command", {"command": call}
    else:
        name, arguments = "shell", {"command": ["bash", "-lc", call]}
    return {"type": "function_call", "call_id": f"call-{len(outputs) + 1}", "name": name,
            "arguments": json.dumps(arguments)}


class Model(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorded = 0

    def log_message(self, *_):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        inputs = body.get("input", [])
        outputs = [i.get("output") for i in inputs if i.get("type") == "function_call_output"]
        if len(outputs) > Model.recorded:
            Model.recorded = len(outputs)
            with open(OUTPUTS, "a") as f:
                f.write(json.dumps(text(outputs[-1])) + "\n")
        if len(outputs) < len(CALLS):
            tools = [t.get("name") for t in body.get("tools", [])]
            item = tool_call(tools, CALLS[len(outputs)], outputs)
        else:
            item = {"type": "message", "role": "assistant", "id": "message-1",
                    "content": [{"type": "output_text",
                                 "text": "the tool said: " + text(outputs[-1])}]}
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
