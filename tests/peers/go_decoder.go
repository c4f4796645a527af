// Reads Gilmour payloads, one per line, the way gilmour-e-go does: encoding/json into a
// struct of data, code and sender (fields it does not know are ignored). Prints each
// decoded message back as JSON, or "ERROR <why>".
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

type message struct {
	Data   interface{} `json:"data"`
	Code   int         `json:"code"`
	Sender string      `json:"sender"`
}

func main() {
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 1<<24)
	for lines.Scan() {
		var decoded message
		if err := json.Unmarshal(lines.Bytes(), &decoded); err != nil {
			fmt.Println("ERROR", err)
			continue
		}
		out, err := json.Marshal(decoded)
		if err != nil {
			fmt.Println("ERROR", err)
			continue
		}
		fmt.Println(string(out))
	}
}
