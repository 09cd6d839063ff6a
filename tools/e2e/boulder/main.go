// Let's Encrypt's own policy as a judge for the preflight rules D8 and LE3 (issue 29): Boulder's policy package,
// at the release pinned in go.mod, answers what its WFE answers for a new order's identifiers (lower-cased by
// identifier.Normalize, then policy.WellFormedIdentifiers; wfe2/wfe.go NewOrder) and for an account's contact
// (policy.ValidEmail). Its blocklists are not public and not judged.
//
// One JSON request per line on stdin: {"dns": "name"}, {"ip": "address"} or {"email": "address"}; one answer per
// line on stdout: {"refused": "Boulder's detail"}, empty where it accepts.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/letsencrypt/boulder/identifier"
	"github.com/letsencrypt/boulder/policy"
)

type request struct {
	DNS   *string `json:"dns"`
	IP    *string `json:"ip"`
	Email *string `json:"email"`
}

func judge(req request) error {
	switch {
	case req.DNS != nil:
		return policy.WellFormedIdentifiers(identifier.Normalize(identifier.ACMEIdentifiers{identifier.NewDNS(*req.DNS)}))
	case req.IP != nil:
		ident := identifier.ACMEIdentifier{Type: identifier.TypeIP, Value: *req.IP}
		return policy.WellFormedIdentifiers(identifier.ACMEIdentifiers{ident})
	case req.Email != nil:
		return policy.ValidEmail(*req.Email)
	}
	return fmt.Errorf("a request names dns, ip or email")
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "boulder-judge:", err)
			os.Exit(2)
		}
		answer := map[string]string{"refused": ""}
		if err := judge(req); err != nil {
			answer["refused"] = err.Error()
		}
		if err := out.Encode(answer); err != nil {
			os.Exit(1)
		}
	}
}
