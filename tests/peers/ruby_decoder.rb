# Reads Gilmour payloads, one per line, the way the Ruby gem does: JSON.parse, then the
# data, code and sender of a Hash (a payload that does not parse is the data itself).
# Prints each decoded message back as JSON.
require 'json'

STDIN.each_line do |line|
  payload = begin
              JSON.parse(line)
            rescue JSON::ParserError
              line
            end
  decoded = if payload.is_a?(Hash)
              { 'data' => payload['data'], 'code' => payload['code'], 'sender' => payload['sender'] }
            else
              { 'data' => payload, 'code' => nil, 'sender' => nil }
            end
  puts JSON.generate(decoded)
end
